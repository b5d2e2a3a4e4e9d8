import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { mayApprove } from '../../actions/approve.js';
import { lockTarget } from '../../core/locks.js';
import type { Approval, Deployment } from '../../core/model.js';
import { actorFor, type ConsoleContext, may, optionalText, parseInput, redirectWithNotice, renderPage } from '../context.js';
import { html } from '../html.js';
import { csrfField, postButton } from '../layout.js';

const lockForm = z.object({
  environment: z.string().min(1).max(100),
  app: optionalText(100),
  reason: optionalText(500),
  takeover: z.enum(['yes']).optional(),
  _csrf: z.string(),
});
const unlockForm = z.object({ environment: z.string().min(1).max(100), app: optionalText(100), _csrf: z.string() });
const decisionForm = z.object({ decision: z.enum(['approve', 'deny']), _csrf: z.string() });
const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

/** Approvals still waiting: those of the queued deployments (the newest 100; a pending approval keeps its deployment queued). */
async function pendingApprovals(ctx: ConsoleContext): Promise<Array<{ deployment: Deployment; approval: Approval }>> {
  const queued = await ctx.store.listDeployments({ states: ['queued'], limit: 100 });
  const found = await Promise.all(queued.map(async (deployment) => ({ deployment, approval: await ctx.store.approvalForDeployment(deployment.id) })));
  return found.filter((f): f is { deployment: Deployment; approval: Approval } => f.approval?.state === 'pending');
}

export function registerLockPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/locks', async (request, reply) => {
    const actor = actorFor(request);
    const [locks, approvals] = await Promise.all([ctx.actions.listLocks(), pendingApprovals(ctx)]);
    const lockable = Object.keys(ctx.config.environments).filter((env) => may(ctx, actor, { verb: 'lock', scope: env }));
    return renderPage(request, reply, {
      title: 'Locks & approvals',
      section: 'locks',
      body: (csrf) => html`<h2>Locks</h2>
${locks.length === 0
  ? html`<p class="muted" data-testid="no-locks">Nothing is locked.</p>`
  : html`<table data-testid="locks"><thead><tr><th>Locked</th><th>Holder</th><th>Reason</th><th>Since</th><th></th></tr></thead><tbody>
${locks.map((lock) => {
  const fields = { environment: lock.environment, ...(lock.app ? { app: lock.app } : {}) };
  const mayLock = may(ctx, actor, { verb: 'lock', scope: lock.environment });
  return html`<tr><td>${lockTarget(lock)}</td><td>${lock.holder}</td><td>${lock.reason ?? ''}</td><td>${lock.since}</td><td>${mayLock
    ? html`${postButton('/console/locks/release', 'Release', csrf, fields)}${lock.holder === actor.id ? '' : html` ${postButton('/console/locks/take', 'Take over', csrf, { ...fields, takeover: 'yes', ...(lock.reason ? { reason: lock.reason } : {}) }, 'danger')}`}`
    : ''}</td></tr>`;
})}</tbody></table>`}
${lockable.length > 0
  ? html`<h2>Take a lock</h2><form method="post" action="/console/locks/take" class="filters">${csrfField(csrf)}
<label>Environment <select name="environment">${lockable.map((env) => html`<option>${env}</option>`)}</select></label>
<label>App <select name="app"><option value="">every app</option>${Object.keys(ctx.config.apps).map((a) => html`<option>${a}</option>`)}</select></label>
<label>Reason <input name="reason" maxlength="500" size="40"></label>
<button type="submit" class="primary">Lock</button></form>`
  : ''}
<h2>Approvals waiting</h2>
${approvals.length === 0
  ? html`<p class="muted">No deployment waits for an approval.</p>`
  : html`<table data-testid="approvals"><thead><tr><th>Deployment</th><th>Requested by</th><th>Expires</th><th></th></tr></thead><tbody>
${approvals.map(({ deployment, approval }) => html`<tr><td><a href="/console/deployments/${deployment.id}">#${deployment.id} ${deployment.app}/${deployment.ref} to ${deployment.environment}</a></td><td>${approval.requestedBy}</td><td>${approval.expiresAt}</td><td>${mayApprove(ctx.config, actor, deployment.environment)
  ? html`${postButton(`/console/approvals/${deployment.id}`, 'Approve', csrf, { decision: 'approve' }, 'primary')} ${postButton(`/console/approvals/${deployment.id}`, 'Deny', csrf, { decision: 'deny' }, 'danger')}`
  : ''}</td></tr>`)}</tbody></table>`}`,
    });
  });

  // Through the action layer: lock:<environment> is checked, the change is audited (lock.takeover
  // names the previous holder) and announced like a chat lock.
  app.post('/locks/take', async (request, reply) => {
    const form = parseInput(lockForm, request.body);
    const { lock, previous } = await ctx.actions.lock(actorFor(request), {
      environment: form.environment,
      ...(form.app ? { app: form.app } : {}),
      ...(form.reason ? { reason: form.reason } : {}),
      takeover: form.takeover === 'yes',
    });
    return redirectWithNotice(reply, ctx, '/console/locks', `Locked ${lockTarget(lock)}${previous && previous.holder !== lock.holder ? ` (taken over from ${previous.holder})` : ''}.`);
  });
  app.post('/locks/release', async (request, reply) => {
    const form = parseInput(unlockForm, request.body);
    const released = await ctx.actions.unlock(actorFor(request), { environment: form.environment, ...(form.app ? { app: form.app } : {}) });
    return redirectWithNotice(reply, ctx, '/console/locks', `Released ${lockTarget(released)} (held by ${released.holder}).`);
  });
  app.post('/approvals/:id', async (request, reply) => {
    const { id } = parseInput(idParams, request.params);
    const form = parseInput(decisionForm, request.body);
    const { approval, deployment } = await ctx.actions.decideApproval(actorFor(request), { deploymentId: id, decision: form.decision });
    return redirectWithNotice(reply, ctx, `/console/deployments/${deployment.id}`, `Deployment #${deployment.id} ${approval.state}.`);
  });
}
