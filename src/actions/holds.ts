import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { holdsInForce, type TargetHold } from '../core/holds.js';
import type { Actor } from '../core/permissions.js';
import { resolveApp, resolveAppEnvironment } from '../core/resolve-target.js';
import { audit, authorize, type ActionContext } from './context.js';
import { nameSchema, parseInput } from './validate.js';

/**
 * Holds: targets an interrupted deployment keeps from the queue while its script may still run
 * (see src/jobs/recovery.ts). Listing them needs no permission; ending one early does, because the
 * next deployment then starts at once, possibly beside a script that still runs.
 */

export const releaseHoldInput = z.object({ app: nameSchema, environment: nameSchema.optional() });
export type ReleaseHoldInput = z.input<typeof releaseHoldInput>;

/** Every hold in force now, oldest deployment first. */
export async function listHolds(ctx: ActionContext): Promise<TargetHold[]> {
  const now = ctx.clock.now();
  return holdsInForce(await ctx.store.listOrphanedDeployments(now.toISOString()), now);
}

/** The hold in force on one target, if any (the newest, should there be several). */
export async function holdOn(ctx: ActionContext, app: string, environment: string): Promise<TargetHold | null> {
  const holds = (await listHolds(ctx)).filter((h) => h.deployment.app === app && h.deployment.environment === environment);
  return holds.at(-1) ?? null;
}

/**
 * Which held target "release hold <app> [in <environment>]" means, whether the actor may release
 * it, and the holds on it. Without an environment: the one environment where the app is held.
 * Throws E_NOT_FOUND when nothing holds the target, E_FORBIDDEN without force:<environment>.
 */
export async function previewReleaseHold(ctx: ActionContext, actor: Actor, raw: ReleaseHoldInput): Promise<{ app: string; environment: string; holds: TargetHold[] }> {
  const input = parseInput(releaseHoldInput, raw);
  const app = resolveApp(ctx.config, input.app).name;
  const all = (await listHolds(ctx)).filter((h) => h.deployment.app === app);
  let environment: string;
  if (input.environment !== undefined) {
    environment = resolveAppEnvironment(ctx.config, resolveApp(ctx.config, app), input.environment);
  } else {
    const envs = [...new Set(all.map((h) => h.deployment.environment))];
    if (envs.length === 0) throw new DeckhandError(ErrorCode.NotFound, `Nothing holds ${app}: its deployments can start as usual.`, { app });
    if (envs.length > 1) throw new DeckhandError(ErrorCode.Usage, `${app} is held in ${envs.join(' and ')}: say which, e.g. "release hold ${app} in ${envs[0]}".`, { app, environments: envs });
    environment = envs[0] as string;
  }
  const target = `${app} in ${environment}`;
  await authorize(ctx, actor, { verb: 'force', scope: environment }, 'hold.release', target);
  const holds = all.filter((h) => h.deployment.environment === environment);
  if (holds.length === 0) throw new DeckhandError(ErrorCode.NotFound, `Nothing holds ${target}: its deployments can start as usual.`, { app, environment });
  return { app, environment, holds };
}

/**
 * Ends the hold on a target before its time: the person says the interrupted deployment's script
 * has ended (or that running the next one beside it is acceptable). Needs force:<environment>,
 * like deploy! — both go past a guard that is there for the target's safety. Audited as
 * hold.release; the target's queue is kicked, so a waiting deployment starts at once.
 */
export async function releaseHold(ctx: ActionContext, actor: Actor, raw: ReleaseHoldInput): Promise<{ app: string; environment: string; released: TargetHold[] }> {
  const { app, environment, holds } = await previewReleaseHold(ctx, actor, raw);
  const released: TargetHold[] = [];
  for (const hold of holds) if (await ctx.store.releaseHold(hold.deployment.id)) released.push(hold);
  const target = `${app} in ${environment}`;
  // Recovery saw the script end (or the hold ran out) between the look and the release: nothing left to do.
  if (released.length === 0) throw new DeckhandError(ErrorCode.NotFound, `Nothing holds ${target} any more: its deployments can start as usual.`, { app, environment });
  await audit(ctx, actor, {
    action: 'hold.release',
    target,
    outcome: 'ok',
    details: {
      deployments: released.map((h) => h.deployment.id),
      heldUntil: released.map((h) => h.heldUntil),
      scripts: released.map((h) => (h.process ? `${h.process.host}:${h.process.pgid}` : null)),
    },
  });
  ctx.logger.warn({ app, environment, deployments: released.map((h) => h.deployment.id), by: actor.id }, `${actor.id} released the hold on ${target}: the next deployment may start while the interrupted one's script still runs`);
  ctx.queue.kick(app, environment);
  return { app, environment, released };
}
