import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../../core/errors.js';
import type { Job } from '../../core/model.js';
import { listJobs, maskPayload, retryJob } from '../../operators/operator-actions.js';
import { operatorPermissions, requirePermission } from '../../operators/operator-permissions.js';
import { actorFor, type ConsoleContext, may, operatorContext, optionalText, parseInput, redirectWithNotice, renderPage } from '../context.js';
import { html, type Html } from '../html.js';
import { postButton } from '../layout.js';
import { stateBadge } from './deployments.js';

const jobStates = ['pending', 'running', 'dead', 'done'] as const;
const listQuery = z.object({
  state: z.preprocess((v) => (v === '' || v === undefined ? 'dead' : v), z.enum(jobStates)),
  type: optionalText(100),
});
const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

const payloadSummary = (job: Job): string => {
  const p = job.payload as Record<string, unknown> | null;
  if (p && typeof p === 'object') {
    if (typeof p.deliveryId === 'number') return `delivery #${p.deliveryId}`;
    if (typeof p.reaction === 'string') return `reaction ${p.reaction}`;
  }
  return '';
};

function jobTable(jobs: readonly Job[], retry: (job: Job) => Html | string): Html {
  if (jobs.length === 0) return html`<p class="muted">No jobs in this state.</p>`;
  return html`<table data-testid="jobs"><thead><tr><th>#</th><th>Type</th><th>For</th><th>State</th><th>Attempts</th><th>Run at</th><th>Owner</th><th>Lease until</th><th>Error</th><th></th></tr></thead><tbody>
${jobs.map((j) => html`<tr data-job="${j.id}"><td><a href="/console/jobs/${j.id}">#${j.id}</a></td><td>${j.type}</td><td>${payloadSummary(j)}</td><td>${stateBadge(j.state)}</td><td>${j.attempts}/${j.maxAttempts}</td><td>${j.runAt}</td><td>${j.leaseOwner ?? ''}</td><td>${j.leaseExpiresAt ?? ''}</td><td class="err">${j.lastError?.slice(0, 300) ?? ''}</td><td>${retry(j)}</td></tr>`)}
</tbody></table>`;
}

export function registerJobPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/jobs', async (request, reply) => {
    const actor = actorFor(request);
    const query = parseInput(listQuery, request.query);
    const jobs = await listJobs(operatorContext(ctx), actor, { state: query.state, ...(query.type ? { type: query.type } : {}), limit: 100 });
    const mayRetry = may(ctx, actor, operatorPermissions.retryJob);
    return renderPage(request, reply, {
      title: 'Jobs',
      section: 'jobs',
      body: (csrf) => html`<form method="get" class="filters" action="/console/jobs">
<label>State <select name="state">${jobStates.map((s) => html`<option${s === query.state ? html` selected` : ''}>${s}</option>`)}</select></label>
<label>Type <input name="type" value="${query.type ?? ''}" placeholder="delivery, reaction, github"></label>
<button type="submit">Show</button></form>
${jobTable(jobs, (j) => (j.state === 'dead' && mayRetry ? postButton(`/console/jobs/${j.id}/retry`, 'Retry', csrf, {}, 'primary') : ''))}
<p class="muted">The newest 100. Running jobs show the process holding them and until when its lease lasts.</p>`,
    });
  });

  app.get('/jobs/:id', async (request, reply) => {
    const actor = actorFor(request);
    requirePermission(ctx.config, actor, operatorPermissions.readJobs);
    const { id } = parseInput(idParams, request.params);
    const stored = await ctx.store.getJob(id);
    const job = stored ? maskPayload(stored, ctx.secrets) : null;
    if (!job) throw new DeckhandError(ErrorCode.NotFound, `No job #${id} (retention may have removed it).`);
    const mayRetry = may(ctx, actor, operatorPermissions.retryJob);
    const deliveryId = (job.payload as { deliveryId?: unknown } | null)?.deliveryId;
    return renderPage(request, reply, {
      title: `Job #${job.id} (${job.type})`,
      section: 'jobs',
      body: (csrf) => html`${jobTable([job], (j) => (j.state === 'dead' && mayRetry ? postButton(`/console/jobs/${j.id}/retry`, 'Retry', csrf, {}, 'primary') : ''))}
${typeof deliveryId === 'number' ? html`<p>Processes <a href="/console/deliveries/${deliveryId}">delivery #${deliveryId}</a>.</p>` : ''}
${job.lastError ? html`<h2>Last error</h2><pre class="err">${job.lastError}</pre>` : ''}`,
    });
  });

  app.post('/jobs/:id/retry', async (request, reply) => {
    const { id } = parseInput(idParams, request.params);
    await retryJob(operatorContext(ctx), actorFor(request), id);
    return redirectWithNotice(reply, ctx, `/console/jobs?state=dead`, `Job #${id} will run again.`);
  });
}
