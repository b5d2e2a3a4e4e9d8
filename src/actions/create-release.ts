import { z } from 'zod';
import type { Actor } from '../core/permissions.js';
import { resolveApp } from '../core/resolve-target.js';
import type { Release } from '../store/types.js';
import { audit, authorize, type ActionContext } from './context.js';
import { nameSchema, parseInput, versionSchema } from './validate.js';

export const createReleaseInput = z.object({
  app: nameSchema,
  version: versionSchema,
  notes: z.string().max(2000).optional(),
});

/** Records a release of an app (providers such as Octopus also create it on their side). */
export async function createRelease(ctx: ActionContext, actor: Actor, raw: z.input<typeof createReleaseInput>): Promise<Release> {
  const input = parseInput(createReleaseInput, raw);
  const app = resolveApp(ctx.config, input.app);
  const target = `${app.name} ${input.version}`;
  await authorize(ctx, actor, { verb: 'release', scope: app.name }, 'release.create', target);
  const release = await ctx.store.createRelease({
    app: app.name,
    version: input.version,
    notes: input.notes ?? null,
    createdBy: actor.id,
    createdAt: ctx.clock.now().toISOString(),
  });
  await audit(ctx, actor, { action: 'release.create', target, outcome: 'ok', details: { releaseId: release.id } });
  await ctx.bus.emit('release.created', { release });
  return release;
}
