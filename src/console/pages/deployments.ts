import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { mayApprove } from '../../actions/approve.js';
import { DeckhandError, ErrorCode } from '../../core/errors.js';
import { isMirrored, type Deployment, type DeploymentState, type StoredEvent } from '../../core/model.js';
import type { Store } from '../../store/types.js';
import { actorFor, type ConsoleContext, may, optionalId, optionalText, parseInput, redirectWithNotice, renderPage } from '../context.js';
import { html, httpLink, queryString, type Html } from '../html.js';
import { postButton } from '../layout.js';

const states = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const satisfies readonly DeploymentState[];
const pageSize = 50;
/** A `who` filter reads at most this many deployments per page (newest first) before it offers the next page. */
const whoScanLimit = 2000;

const listQuery = z.object({
  app: optionalText(100),
  environment: optionalText(100),
  state: z.preprocess((v) => (v === '' ? undefined : v), z.enum(states).optional()),
  who: optionalText(200),
  before: optionalId,
});
const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

export const stateBadge = (state: string): Html => html`<span class="state state-${state}">${state}</span>`;

/**
 * One page of deployments, newest first, through the store's indexes (app, environment, state,
 * id cursor). The requester is not indexed: `who` reads pages of the other filters' results until it
 * has a page of matches or has read whoScanLimit rows, and the pager resumes where it stopped.
 */
async function findDeployments(store: Store, query: z.infer<typeof listQuery>): Promise<{ rows: Deployment[]; next: number | null }> {
  const base = { ...(query.app ? { app: query.app } : {}), ...(query.environment ? { environment: query.environment } : {}), ...(query.state ? { states: [query.state] } : {}) };
  if (!query.who) {
    const rows = await store.listDeployments({ ...base, limit: pageSize + 1, ...(query.before ? { beforeId: query.before } : {}) });
    return { rows: rows.slice(0, pageSize), next: rows.length > pageSize ? (rows[pageSize - 1]?.id ?? null) : null };
  }
  const rows: Deployment[] = [];
  let before = query.before;
  for (let read = 0; read < whoScanLimit; ) {
    const batch = await store.listDeployments({ ...base, limit: 100, ...(before ? { beforeId: before } : {}) });
    read += batch.length;
    for (const d of batch) {
      if (d.requestedBy === query.who) rows.push(d);
      if (rows.length === pageSize) return { rows, next: d.id };
    }
    if (batch.length < 100) return { rows, next: null };
    before = batch[batch.length - 1]?.id;
  }
  return { rows, next: before ?? null };
}

/** The first event with an id above the returned one is the first recorded at or after `at` (events are appended in time order). */
async function eventCursorAt(store: Store, at: string): Promise<number> {
  const firstAfter = async (id: number) => (await store.listEvents({ afterId: id, limit: 1 }))[0];
  let hi = 1024;
  while ((await firstAfter(hi)) && hi < Number.MAX_SAFE_INTEGER / 2) hi *= 2;
  let lo = 0;
  // The smallest cursor whose next event is at or after `at` (or that has none): a binary search by id.
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const event = await firstAfter(mid);
    if (!event || event.at >= at) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A deployment's events (queued, approval, started, finished), found from its creation time on without reading the whole history. */
async function timeline(store: Store, deployment: Deployment): Promise<StoredEvent[]> {
  const end = deployment.finishedAt ? new Date(new Date(deployment.finishedAt).getTime() + 60_000).toISOString() : null;
  let cursor = await eventCursorAt(store, new Date(new Date(deployment.createdAt).getTime() - 1000).toISOString());
  const found: StoredEvent[] = [];
  for (let page = 0; page < 10; page++) {
    const events = await store.listEvents({ afterId: cursor, limit: 500 });
    for (const event of events) {
      if (end && event.at > end) return found;
      const data = event.data as { deployment?: { id?: unknown } } | null;
      if (data?.deployment?.id === deployment.id) found.push(event);
    }
    if (events.length < 500) return found;
    cursor = events[events.length - 1]?.id ?? cursor;
  }
  return found;
}

const when = (iso: string | null): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

export function deploymentRows(rows: readonly Deployment[]): Html {
  if (rows.length === 0) return html`<p class="muted">No deployments match.</p>`;
  return html`<table data-testid="deployments"><thead><tr><th>#</th><th>App</th><th>Environment</th><th>Ref</th><th>State</th><th>Who</th><th>Source</th><th>Created</th><th>Finished</th></tr></thead><tbody>
${rows.map((d) => html`<tr><td><a href="/console/deployments/${d.id}">#${d.id}</a></td><td>${d.app}</td><td>${d.environment}</td><td><code>${d.ref}</code></td><td>${stateBadge(d.state)}${d.dryRun ? ' (dry run)' : ''}</td><td>${d.requestedBy}</td><td>${d.source}</td><td>${when(d.createdAt)}</td><td>${when(d.finishedAt)}</td></tr>`)}
</tbody></table>`;
}

export function registerDeploymentPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/deployments', async (request, reply) => {
    const query = parseInput(listQuery, request.query);
    const { rows, next } = await findDeployments(ctx.store, query);
    const select = (name: string, options: readonly string[], value: string | undefined) =>
      html`<select name="${name}"><option value="">any</option>${options.map((o) => html`<option${o === value ? html` selected` : ''}>${o}</option>`)}</select>`;
    return renderPage(request, reply, {
      title: 'Deployments',
      section: 'deployments',
      body: () => html`<form method="get" class="filters" action="/console/deployments">
<label>App ${select('app', Object.keys(ctx.config.apps), query.app)}</label>
<label>Environment ${select('environment', Object.keys(ctx.config.environments), query.environment)}</label>
<label>State ${select('state', states, query.state)}</label>
<label>Who <input name="who" value="${query.who ?? ''}" placeholder="U024BE7LH, token:ci"></label>
<button type="submit">Filter</button> <a href="/console/deployments">clear</a></form>
${deploymentRows(rows)}
${next ? html`<p class="pager"><a rel="next" href="/console/deployments${queryString({ app: query.app, environment: query.environment, state: query.state, who: query.who, before: next })}">Older →</a></p>` : ''}`,
    });
  });

  app.get('/deployments/:id', async (request, reply) => {
    const { id } = parseInput(idParams, request.params);
    const deployment = await ctx.store.getDeployment(id);
    if (!deployment) throw new DeckhandError(ErrorCode.NotFound, `No deployment #${id}.`);
    const actor = actorFor(request);
    const [approval, events] = await Promise.all([ctx.store.approvalForDeployment(id), timeline(ctx.store, deployment)]);
    const logUrl = isMirrored(deployment) ? httpLink(deployment.external?.logUrl) : `/deployments/${deployment.id}/log?token=${encodeURIComponent(deployment.logToken)}`;
    const externalUrl = httpLink(deployment.external?.url);
    const mayDeploy = may(ctx, actor, { verb: 'deploy', scope: deployment.environment });
    return renderPage(request, reply, {
      title: `Deployment #${deployment.id}: ${deployment.app}/${deployment.ref} to ${deployment.environment}`,
      section: 'deployments',
      body: (csrf) => html`<dl>
<dt>State</dt><dd data-testid="state">${stateBadge(deployment.state)}${deployment.reason ? html` <span class="muted">${deployment.reason}</span>` : ''}</dd>
<dt>Requested by</dt><dd>${deployment.requestedBy} (${deployment.source})</dd>
<dt>Created</dt><dd>${when(deployment.createdAt)}</dd><dt>Started</dt><dd>${when(deployment.startedAt)}</dd><dt>Finished</dt><dd>${when(deployment.finishedAt)}</dd>
<dt>Provider</dt><dd>${deployment.provider}${deployment.dryRun ? ' (dry run)' : ''}${deployment.forced ? ' (forced)' : ''}</dd>
${deployment.rollbackOf ? html`<dt>Rolls back</dt><dd><a href="/console/deployments/${deployment.rollbackOf}">#${deployment.rollbackOf}</a></dd>` : ''}
${deployment.external ? html`<dt>${deployment.external.system}</dt><dd>${externalUrl ? html`<a href="${externalUrl}" rel="noreferrer">${externalUrl}</a>` : (deployment.external.url ?? deployment.external.id)}</dd>` : ''}
<dt>Log</dt><dd>${logUrl ? html`<a href="${logUrl}" data-testid="log-link">the whole log</a>` : html`<span class="muted">none</span>`}</dd></dl>
${deployment.logTail ? html`<h2>Last output</h2><pre>${deployment.logTail}</pre>` : ''}
<h2>Approval</h2>
${approval
  ? html`<p>${stateBadge(approval.state)} requested by ${approval.requestedBy}, ${approval.state === 'pending' ? `expires ${when(approval.expiresAt)}` : `${approval.state} by ${approval.decidedBy ?? 'time'} at ${when(approval.decidedAt)}`}</p>
${approval.state === 'pending' && mayApprove(ctx.config, actor, deployment.environment) ? html`${postButton(`/console/approvals/${deployment.id}`, 'Approve', csrf, { decision: 'approve' }, 'primary')} ${postButton(`/console/approvals/${deployment.id}`, 'Deny', csrf, { decision: 'deny' }, 'danger')}` : ''}`
  : html`<p class="muted">None needed.</p>`}
<h2>Timeline</h2>
${events.length === 0 ? html`<p class="muted">No events recorded (retention may have removed them).</p>` : html`<table data-testid="timeline"><thead><tr><th>At</th><th>Event</th></tr></thead><tbody>${events.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.type}</td></tr>`)}</tbody></table>`}
${mayDeploy && !isMirrored(deployment)
  ? html`<h2>Actions</h2><p>${postButton(`/console/deployments/${deployment.id}/redeploy`, `Deploy ${deployment.app}/${deployment.ref} to ${deployment.environment} again`, csrf, {}, 'primary')}
${postButton(`/console/deployments/${deployment.id}/rollback`, `Roll back ${deployment.app} in ${deployment.environment}`, csrf, {}, 'danger')}</p>`
  : ''}`,
    });
  });

  // Deploy and roll back go through the action layer as the signed-in person: the same permission,
  // lock, check and approval rules as chat (a refusal is its 4xx page).
  app.post('/deployments/:id/redeploy', async (request, reply) => {
    const { id } = parseInput(idParams, request.params);
    const deployment = await ctx.store.getDeployment(id);
    if (!deployment) throw new DeckhandError(ErrorCode.NotFound, `No deployment #${id}.`);
    const result = await ctx.actions.deploy(actorFor(request), { app: deployment.app, environment: deployment.environment, ref: deployment.ref, source: 'api' });
    return redirectWithNotice(reply, ctx, `/console/deployments/${result.deployment.id}`, `Deployment #${result.deployment.id} queued${result.approval ? ': it waits for an approval' : ''}.`);
  });
  app.post('/deployments/:id/rollback', async (request, reply) => {
    const { id } = parseInput(idParams, request.params);
    const deployment = await ctx.store.getDeployment(id);
    if (!deployment) throw new DeckhandError(ErrorCode.NotFound, `No deployment #${id}.`);
    const result = await ctx.actions.rollback(actorFor(request), { app: deployment.app, environment: deployment.environment });
    return redirectWithNotice(reply, ctx, `/console/deployments/${result.deployment.id}`, `Rollback #${result.deployment.id} to ${result.deployment.ref} queued.`);
  });
}
