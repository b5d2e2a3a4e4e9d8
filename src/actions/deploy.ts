import { z } from 'zod';
import { asDeckhandError, DeckhandError, ErrorCode } from '../core/errors.js';
import { blockingLock, describeLock } from '../core/locks.js';
import type { Actor } from '../core/permissions.js';
import { resolveApp, resolveAppEnvironment } from '../core/resolve-target.js';
import type { CheckOutcome } from '../providers/types.js';
import type { Approval, Deployment, DeploymentSource, ExternalDeployment } from '../core/model.js';
import { audit, authorize, type ActionContext } from './context.js';
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
  /** Checks that failed but were forced past. */
  forcedChecks: CheckOutcome[];
  /** Set when the deployment waits for an approval (protected environment). */
  approval: Approval | null;
}

/**
 * The one way to deploy: chat, webhooks, schedules and the API all come here. Validates, checks
 * room, permission, locks and pre-deploy checks, records the deployment as queued, audits it,
 * emits deployment.queued and asks the queue to start it.
 */
export async function deploy(ctx: ActionContext, actor: Actor, raw: DeployInput, link: { external?: ExternalDeployment } = {}): Promise<DeployResult> {
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
  return { deployment, waitingFor, forcedChecks: failedChecks, approval };
}

function providerFor(ctx: ActionContext, kind: string) {
  const provider = ctx.providers[kind];
  if (!provider) throw new DeckhandError(ErrorCode.Internal, `No deployment provider "${kind}" is configured.`);
  return provider;
}
