import { z } from 'zod';
import type { DeckhandConfig } from '../config/types.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { globMatch } from '../core/glob.js';
import { can, rolesOf, type Actor } from '../core/permissions.js';
import type { Approval, Deployment } from '../core/model.js';
import { audit, type ActionContext } from './context.js';
import { parseInput } from './validate.js';

export const decideInput = z.object({
  deploymentId: z.coerce.number().int().positive(),
  decision: z.enum(['approve', 'deny']),
});

/** Approvers are the environment's `approvers` (user ids, role:<name>) and anyone with approve:<environment>. */
export function mayApprove(config: DeckhandConfig, actor: Actor, environment: string): boolean {
  if (actor.system) return false;
  const env = config.environments[environment];
  const roles = new Set(rolesOf(config, actor).map((r) => r.name));
  const listed = (env?.approvers ?? []).some((entry) => (entry.startsWith('role:') ? roles.has(entry.slice(5)) : globMatch(entry, actor.id)));
  return listed || can(config, actor, { verb: 'approve', scope: environment });
}

export interface DecideResult {
  approval: Approval;
  deployment: Deployment;
}

/**
 * Approves or denies a deployment waiting for approval. Only an approver may, and not the
 * requester unless the environment allows self-approval. A repeated decision (a double click)
 * changes nothing and says who decided first.
 */
export async function decideApproval(ctx: ActionContext, actor: Actor, raw: z.input<typeof decideInput>): Promise<DecideResult> {
  const input = parseInput(decideInput, raw);
  const deployment = await ctx.store.getDeployment(input.deploymentId);
  const pending = deployment ? await ctx.store.approvalForDeployment(deployment.id) : null;
  if (!deployment || !pending) {
    throw new DeckhandError(ErrorCode.NotFound, `Deployment #${input.deploymentId} is not waiting for an approval.`, { deploymentId: input.deploymentId });
  }
  const target = `#${deployment.id} ${deployment.app}/${deployment.ref} to ${deployment.environment}`;
  const action = input.decision === 'approve' ? 'approval.grant' : 'approval.deny';
  if (pending.state !== 'pending') {
    throw new DeckhandError(ErrorCode.Conflict, `${target} was already ${pending.state}${pending.decidedBy ? ` by ${pending.decidedBy}` : ''}.`, { approval: pending });
  }
  if (!mayApprove(ctx.config, actor, deployment.environment)) {
    await audit(ctx, actor, { action, target, outcome: 'denied', details: { reason: 'not an approver' } });
    const approvers = ctx.config.environments[deployment.environment]?.approvers ?? [];
    throw new DeckhandError(ErrorCode.Forbidden, `You (${actor.id}) can't approve deployments to ${deployment.environment}. Approvers: ${approvers.join(', ') || `anyone with approve:${deployment.environment}`}.`, {
      needed: `approve:${deployment.environment}`,
    });
  }
  if (actor.id === deployment.requestedBy && input.decision === 'approve' && !ctx.config.environments[deployment.environment]?.selfApproval) {
    await audit(ctx, actor, { action, target, outcome: 'denied', details: { reason: 'self-approval' } });
    throw new DeckhandError(ErrorCode.Forbidden, `You asked for ${target}, so someone else has to approve it.`, {});
  }

  const decided = await ctx.store.decideApproval(pending.id, {
    state: input.decision === 'approve' ? 'approved' : 'denied',
    decidedBy: actor.id,
    decidedAt: ctx.clock.now().toISOString(),
  });
  if (!decided) {
    // Someone else decided between our read and our write.
    const now = await ctx.store.getApproval(pending.id);
    throw new DeckhandError(ErrorCode.Conflict, `${target} was already ${now?.state ?? 'decided'}${now?.decidedBy ? ` by ${now.decidedBy}` : ''}.`, { approval: now });
  }
  await audit(ctx, actor, { action, target, outcome: 'ok', details: { approvalId: decided.id } });
  if (decided.state === 'approved') {
    await ctx.bus.emit('approval.granted', { approval: decided, deployment });
    ctx.queue.kick(deployment.app, deployment.environment);
    return { approval: decided, deployment };
  }
  const cancelled = await ctx.store.finishDeployment(deployment.id, {
    state: 'cancelled',
    finishedAt: ctx.clock.now().toISOString(),
    reason: `approval denied by ${actor.id}`,
  });
  await ctx.bus.emit('approval.denied', { approval: decided, deployment: cancelled });
  await ctx.bus.emit('deployment.cancelled', { deployment: cancelled });
  return { approval: decided, deployment: cancelled };
}

/** Cancels deployments whose approval request ran out of time. */
export async function expireApprovals(ctx: Omit<ActionContext, 'queue'>): Promise<number> {
  const now = ctx.clock.now().toISOString();
  let count = 0;
  for (const approval of await ctx.store.listExpiredApprovals(now)) {
    const expired = await ctx.store.decideApproval(approval.id, { state: 'expired', decidedBy: 'deckhand', decidedAt: now });
    if (!expired) continue;
    const deployment = await ctx.store.finishDeployment(approval.deploymentId, { state: 'cancelled', finishedAt: now, reason: 'approval request expired' });
    await ctx.bus.emit('approval.expired', { approval: expired, deployment });
    await ctx.bus.emit('deployment.cancelled', { deployment });
    count += 1;
  }
  return count;
}
