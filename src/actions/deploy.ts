import { z } from 'zod';
import { asDeckhandError, DeckhandError, ErrorCode } from '../core/errors.js';
import { blockingLock, describeLock } from '../core/locks.js';
import type { Actor } from '../core/permissions.js';
import { resolveApp, resolveAppEnvironment } from '../core/resolve-target.js';
import type { CheckOutcome } from '../providers/types.js';
import type { Approval, Deployment, DeploymentSource, ExternalDeployment, RequestKey } from '../core/model.js';
import type { TargetHold } from '../core/holds.js';
import { audit, authorize, type ActionContext } from './context.js';
import { holdOn } from './holds.js';
import { isRequestKeyUsed, keyReused, requestKeyFor } from './request-key.js';
import { nameSchema, parseInput, refSchema } from './validate.js';

export const deployInput = z.object({
  app: nameSchema,
  ref: refSchema.optional(),
  environment: nameSchema.optional(),
  /** deploy!: go ahead although a pre-deploy check failed (needs force:<environment>). */
  force: z.boolean().default(false),
  /** Run the provider in its dry-run mode: nothing is changed. */
  dryRun: z.boolean().default(false),
  rollbackOf: z.number().int().positive().nullable().default(null),
  source: z.enum(['chat', 'webhook', 'schedule', 'api', 'reaction']).default('chat'),
});
export type DeployInput = z.input<typeof deployInput>;

export interface DeployResult {
  deployment: Deployment;
  /** The deployment of the same target that runs before this one, if any. */
  waitingFor: Deployment | null;
  /** An interrupted deployment whose script may still run, holding the target: this one waits for it too. */
  heldBy: TargetHold | null;
  /** Checks that failed but were forced past. */
  forcedChecks: CheckOutcome[];
  /** True when an earlier request with the same idempotency key made this deployment: nothing new was queued. */
  replayed?: boolean;
  /** Set when the deployment waits for an approval (protected environment). */
  approval: Approval | null;
}

/**
 * The one way to deploy: chat, webhooks, schedules and the API all come here. Validates, checks
 * room, permission, locks and pre-deploy checks, records the deployment as queued, audits it,
 * emits deployment.queued and asks the queue to start it.
 *
 * `link.requestKey` makes it idempotent (a reaction step's run id, an API Idempotency-Key): the
 * deployment is recorded with the key, and a repeat of the same request with it returns that
 * deployment (replayed) instead of queueing another; a different request with it is E_CONFLICT.
 */
export async function deploy(ctx: ActionContext, actor: Actor, raw: DeployInput, link: { external?: ExternalDeployment; requestKey?: string } = {}): Promise<DeployResult> {
  if (!link.requestKey) return deployOnce(ctx, actor, raw, link, null);
  // With an idempotency key: a repeat of the request gets the deployment the first one made.
  const request = requestKeyFor(link.requestKey, 'deploy', actor.id, parseInput(deployInput, raw));
  const first = await replayDeploy(ctx, request);
  if (first) return first;
  try {
    return await deployOnce(ctx, actor, raw, link, request);
  } catch (err) {
    // A concurrent request with the same key made it first.
    const winner = isRequestKeyUsed(err, request) ? await replayDeploy(ctx, request) : null;
    if (winner) return winner;
    throw err;
  }
}

/** The deployment an earlier request with this key made (its current record), or null; a different request with the key is refused. */
async function replayDeploy(ctx: ActionContext, request: RequestKey): Promise<DeployResult | null> {
  const first = await ctx.store.findDeploymentByRequest(request.key);
  if (!first) return null;
  const d = first.deployment;
  if (first.hash !== request.hash) throw keyReused(`deployment #${d.id} (${d.app}/${d.ref} to ${d.environment})`, { deploymentId: d.id });
  // Kicked again: a kill -9 may have come between queueing it and starting the queue.
  if (d.state === 'queued') ctx.queue.kick(d.app, d.environment);
  return { deployment: d, waitingFor: null, heldBy: null, forcedChecks: [], approval: await ctx.store.approvalForDeployment(d.id), replayed: true };
}

async function deployOnce(ctx: ActionContext, actor: Actor, raw: DeployInput, link: { external?: ExternalDeployment }, requestKey: RequestKey | null): Promise<DeployResult> {
  const input = parseInput(deployInput, raw);
  const app = resolveApp(ctx.config, input.app);
  const environment = resolveAppEnvironment(ctx.config, app, input.environment);
  const requestedRef = input.ref ?? app.defaultRef;
  let target = `${app.name}/${requestedRef} to ${environment}`;

  if (actor.room && app.rooms && !actor.system && !app.rooms.includes(actor.room)) {
    await audit(ctx, actor, { action: 'deploy', target, outcome: 'denied', details: { room: actor.room } });
    throw new DeckhandError(ErrorCode.RoomNotAllowed, `${app.name} can't be deployed from ${actor.room}; use ${app.rooms.join(' or ')}.`, {
      rooms: app.rooms,
    });
  }
  await authorize(ctx, actor, { verb: 'deploy', scope: environment }, 'deploy', target);
  if (input.force) await authorize(ctx, actor, { verb: 'force', scope: environment }, 'deploy', target);

  const lock = blockingLock(await ctx.store.locksFor(environment, app.name), actor.id, ctx.config.locks.holderMayDeploy);
  if (lock) {
    await audit(ctx, actor, { action: 'deploy', target, outcome: 'denied', details: { lockedBy: lock.holder } });
    throw new DeckhandError(ErrorCode.EnvLocked, `Can't deploy ${target}: ${describeLock(lock, ctx.clock.now())}.`, { lock });
  }

  const provider = providerFor(ctx, app.provider.kind);
  // The provider says what the ref means (Octopus: "latest" is a release version) before anything is queued.
  const ref = provider.resolveRef ? await provider.resolveRef(app, environment, requestedRef) : requestedRef;
  target = `${app.name}/${ref} to ${environment}`;
  const request = { app: app.name, environment, ref, requestedBy: actor.id, dryRun: input.dryRun, forced: input.force };
  const failedChecks = (await provider.check(app, request)).filter((c) => !c.ok);
  if (failedChecks.length > 0 && !input.force) {
    await audit(ctx, actor, { action: 'deploy', target, outcome: 'denied', details: { failedChecks: failedChecks.map((c) => c.check) } });
    const detail = failedChecks.map((c) => `${c.check} ${c.reason}:\n${c.logTail}`).join('\n');
    throw new DeckhandError(ErrorCode.CheckFailed, `Pre-deploy checks failed for ${target}:\n${detail}\nFix it, or use deploy! to go ahead anyway.`, {
      checks: failedChecks,
    });
  }

  const running = await ctx.store.listDeployments({ app: app.name, environment, states: ['running', 'queued'], limit: 1 });
  const envConfig = ctx.config.environments[environment];
  // Protected environments wait for a person to approve; a dry run changes nothing, so it does not.
  const needsApproval = Boolean(envConfig?.protected) && !input.dryRun;
  const now = ctx.clock.now();
  let deployment = await ctx.store.createDeployment({
    app: app.name,
    environment,
    ref,
    provider: provider.kind,
    source: input.source as DeploymentSource,
    requestedBy: actor.id,
    room: actor.room ?? null,
    dryRun: input.dryRun,
    forced: input.force,
    rollbackOf: input.rollbackOf,
    origin: actor.origin ?? null,
    external: link.external ?? null,
    createdAt: now.toISOString(),
    approval: needsApproval ? { expiresAt: new Date(now.getTime() + (envConfig?.approvalTimeoutMs ?? 0)).toISOString() } : null,
    request: requestKey,
  });
  // A tracked app's deployment gets its twin (a GitHub deployment) before anyone hears of it; when
  // that is refused, the deployment is recorded as cancelled and the user gets the reason.
  if (!link.external && !input.dryRun && ctx.tracker?.tracks(app)) {
    try {
      deployment = await ctx.store.linkExternal(deployment.id, await ctx.tracker.open(app, deployment, { forced: input.force }));
    } catch (err) {
      const error = asDeckhandError(err);
      await ctx.store.finishDeployment(deployment.id, { state: 'cancelled', finishedAt: ctx.clock.now().toISOString(), reason: error.message.slice(0, 500) });
      await audit(ctx, actor, { action: 'deploy', target, outcome: 'failed', details: { deploymentId: deployment.id, error: error.message } });
      throw error;
    }
  }
  await audit(ctx, actor, {
    action: input.rollbackOf ? 'rollback' : 'deploy',
    target,
    outcome: 'ok',
    details: {
      deploymentId: deployment.id,
      dryRun: input.dryRun,
      forced: input.force,
      ...(failedChecks.length ? { forcedPastChecks: failedChecks.map((c) => c.check) } : {}),
    },
  });
  const waitingFor = running[0] ?? null;
  await ctx.bus.emit('deployment.queued', { deployment, waitingFor: waitingFor?.id ?? null });
  const approval = needsApproval ? await ctx.store.approvalForDeployment(deployment.id) : null;
  if (approval) await ctx.bus.emit('approval.requested', { approval, deployment });
  else ctx.queue.kick(app.name, environment);
  // Only a hint for the reply: the deployment is queued whatever this read says.
  const heldBy = await holdOn(ctx, app.name, environment).catch((err: unknown) => (ctx.logger.warn({ err, deploymentId: deployment.id }, 'could not look up holds on the target'), null));
  return { deployment, waitingFor, heldBy, forcedChecks: failedChecks, approval };
}

function providerFor(ctx: ActionContext, kind: string) {
  const provider = ctx.providers[kind];
  if (!provider) throw new DeckhandError(ErrorCode.Internal, `No deployment provider "${kind}" is configured.`);
  return provider;
}
