import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Actor } from '../core/permissions.js';
import { resolveApp } from '../core/resolve-target.js';
import type { Release } from '../core/model.js';
import { audit, authorize, type ActionContext } from './context.js';
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
  /** Where the provider shows it (the Octopus release page). */
  url: string | null;
  /** The package versions the provider chose. */
  packages: Record<string, string>;
}

/** Records a release of an app (providers such as Octopus also create it on their side). */
export async function createRelease(ctx: ActionContext, actor: Actor, raw: z.input<typeof createReleaseInput>): Promise<CreateReleaseResult> {
  const input = parseInput(createReleaseInput, raw);
  const app = resolveApp(ctx.config, input.app);
  const target = `${app.name} ${input.version}`;
  await authorize(ctx, actor, { verb: 'release', scope: app.name }, 'release.create', target);
  const existing = await ctx.store.getRelease(app.name, input.version);
  if (existing) throw new DeckhandError(ErrorCode.ReleaseExists, `Release ${input.version} of ${app.name} already exists.`, { release: existing });
  // The provider's side first (Octopus): a refusal there leaves nothing recorded here.
  let created: { url: string | null; packages: Record<string, string> } = { url: null, packages: {} };
  const provider = ctx.providers[app.provider.kind];
  if (provider?.createRelease) {
    try {
      created = await provider.createRelease(app, { version: input.version, notes: input.notes ?? null, packages: input.packages });
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
  });
  await audit(ctx, actor, { action: 'release.create', target, outcome: 'ok', details: { releaseId: release.id, ...(created.url ? { url: created.url } : {}), packages: created.packages } });
  await ctx.bus.emit('release.created', { release });
  return { release, ...created };
}
