import { z } from 'zod';
import { DeckhandError, ErrorCode, isDeckhandError } from '../core/errors.js';
import { describeLock, lockTarget } from '../core/locks.js';
import type { Actor } from '../core/permissions.js';
import { resolveApp, resolveEnvironment } from '../core/resolve-target.js';
import type { AcquireLockResult, Lock } from '../core/model.js';
import { audit, authorize, type ActionContext } from './context.js';
import { nameSchema, parseInput } from './validate.js';

export const lockInput = z.object({
  environment: nameSchema,
  app: nameSchema.optional(),
  reason: z.string().max(500).optional(),
  /** lock!: take over someone else's lock (audited; the previous holder is told). */
  takeover: z.boolean().default(false),
});

export const unlockInput = z.object({ environment: nameSchema, app: nameSchema.optional() });

function resolveLockTarget(ctx: ActionContext, environment: string, app: string | undefined) {
  return { environment: resolveEnvironment(ctx.config, environment), app: app === undefined ? null : resolveApp(ctx.config, app).name };
}

export async function lock(ctx: ActionContext, actor: Actor, raw: z.input<typeof lockInput>): Promise<AcquireLockResult> {
  const input = parseInput(lockInput, raw);
  const target = resolveLockTarget(ctx, input.environment, input.app);
  const name = lockTarget(target);
  await authorize(ctx, actor, { verb: 'lock', scope: target.environment }, input.takeover ? 'lock.takeover' : 'lock', name);
  const wanted: Lock = { ...target, holder: actor.id, reason: input.reason ?? null, since: ctx.clock.now().toISOString() };
  let result: AcquireLockResult;
  try {
    result = await ctx.store.acquireLock(wanted, { takeover: input.takeover });
  } catch (err) {
    if (isDeckhandError(err, ErrorCode.LockHeld)) {
      const held = err.details.lock as Lock;
      throw new DeckhandError(ErrorCode.LockHeld, `${describeLock(held, ctx.clock.now())}. Use lock! to take it over.`, { lock: held });
    }
    throw err;
  }
  await audit(ctx, actor, {
    action: input.takeover ? 'lock.takeover' : 'lock',
    target: name,
    outcome: 'ok',
    details: { reason: result.lock.reason, ...(result.previous ? { previousHolder: result.previous.holder } : {}) },
  });
  await ctx.bus.emit('lock.acquired', result);
  return result;
}

export async function unlock(ctx: ActionContext, actor: Actor, raw: z.input<typeof unlockInput>): Promise<Lock> {
  const input = parseInput(unlockInput, raw);
  const target = resolveLockTarget(ctx, input.environment, input.app);
  const name = lockTarget(target);
  await authorize(ctx, actor, { verb: 'lock', scope: target.environment }, 'unlock', name);
  const released = await ctx.store.releaseLock(target.environment, target.app);
  if (!released) throw new DeckhandError(ErrorCode.NotLocked, `${name} is not locked.`, target);
  await audit(ctx, actor, { action: 'unlock', target: name, outcome: 'ok', details: { holder: released.holder } });
  await ctx.bus.emit('lock.released', { lock: released, releasedBy: actor.id });
  return released;
}
