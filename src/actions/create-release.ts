import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Actor } from '../core/permissions.js';
import { resolveApp } from '../core/resolve-target.js';
import type { Release, RequestKey } from '../core/model.js';
import { audit, authorize, type ActionContext } from './context.js';
import { isRequestKeyUsed, keyReused, requestKeyFor } from './request-key.js';
import { nameSchema, parseInput, versionSchema } from './validate.js';

export const createReleaseInput = z.object({
  app: nameSchema,
  version: versionSchema,
  notes: z.string().max(2000).optional(),
  /** Package versions for the provider's release (Octopus), by package id or step name; the rest are resolved as Octopus does. */
  packages: z.record(z.string().min(1).max(200), versionSchema).default({}),
});

export interface CreateReleaseResult {
  release: Release;
  /** True when an earlier request with the same idempotency key made this release: nothing new was created. */
  replayed?: boolean;
  /** Where the provider shows it (the Octopus release page). */
  url: string | null;
  /** The package versions the provider chose. */
  packages: Record<string, string>;
}

/**
 * Records a release of an app (providers such as Octopus also create it on their side).
 *
 * `options.requestKey` makes it idempotent (a reaction step's run id, an API Idempotency-Key): the
 * release is recorded with the key, and a repeat of the same request with it returns that release
 * (replayed) instead of E_RELEASE_EXISTS; a different request with it is E_CONFLICT. Such a request
 * may be a re-run after a kill -9 that came between the provider's creation and the record here,
 * so it first looks for the release on the provider's side (Octopus) and records that one.
 */
export async function createRelease(ctx: ActionContext, actor: Actor, raw: z.input<typeof createReleaseInput>, options: { requestKey?: string } = {}): Promise<CreateReleaseResult> {
  if (!options.requestKey) return createReleaseOnce(ctx, actor, raw, null);
  const request = requestKeyFor(options.requestKey, 'release.create', actor.id, parseInput(createReleaseInput, raw));
  const first = await replayRelease(ctx, request);
  if (first) return first;
  try {
    return await createReleaseOnce(ctx, actor, raw, request);
  } catch (err) {
    // A concurrent request with the same key made it first.
    const winner = isRequestKeyUsed(err, request) ? await replayRelease(ctx, request) : null;
    if (winner) return winner;
    throw err;
  }
}

/** The release an earlier request with this key made, or null; a different request with the key is refused. */
async function replayRelease(ctx: ActionContext, request: RequestKey): Promise<CreateReleaseResult | null> {
  const first = await ctx.store.findReleaseByRequest(request.key);
  if (!first) return null;
  const { release } = first;
  if (first.hash !== request.hash) throw keyReused(`release ${release.version} of ${release.app}`, { releaseId: release.id });
  // Where the provider shows it, as the first answer said; only a hint, so a provider that is away does not fail the repeat.
  const app = ctx.config.apps[release.app];
  const provider = app ? ctx.providers[app.provider.kind] : undefined;
  const shown = app && provider?.findRelease ? await provider.findRelease(app, release.version).catch(() => null) : null;
  return { release, url: shown?.url ?? null, packages: shown?.packages ?? {}, replayed: true };
}

async function createReleaseOnce(ctx: ActionContext, actor: Actor, raw: z.input<typeof createReleaseInput>, request: RequestKey | null): Promise<CreateReleaseResult> {
  const input = parseInput(createReleaseInput, raw);
  const app = resolveApp(ctx.config, input.app);
  const target = `${app.name} ${input.version}`;
  await authorize(ctx, actor, { verb: 'release', scope: app.name }, 'release.create', target);
  const existing = await ctx.store.getRelease(app.name, input.version);
  if (existing) throw new DeckhandError(ErrorCode.ReleaseExists, `Release ${input.version} of ${app.name} already exists.`, { release: existing });
  // The provider's side first (Octopus): a refusal there leaves nothing recorded here.
  let created: { url: string | null; packages: Record<string, string> } = { url: null, packages: {} };
  let found = false;
  const provider = ctx.providers[app.provider.kind];
  if (provider?.createRelease) {
    try {
      // A keyed request may be a re-run whose first run created the provider's release and was killed before recording it.
      const existing = request && provider.findRelease ? await provider.findRelease(app, input.version) : null;
      found = existing !== null;
      created = existing ?? (await provider.createRelease(app, { version: input.version, notes: input.notes ?? null, packages: input.packages }));
    } catch (err) {
      await audit(ctx, actor, { action: 'release.create', target, outcome: 'failed', details: { error: (err as Error).message } });
      throw err;
    }
  }
  const release = await ctx.store.createRelease({
    app: app.name,
    version: input.version,
    notes: input.notes ?? null,
    createdBy: actor.id,
    createdAt: ctx.clock.now().toISOString(),
    request,
  });
  await audit(ctx, actor, { action: 'release.create', target, outcome: 'ok', details: { releaseId: release.id, ...(created.url ? { url: created.url } : {}), packages: created.packages, ...(found ? { foundInProvider: true } : {}) } });
  await ctx.bus.emit('release.created', { release });
  return { release, ...created };
}
