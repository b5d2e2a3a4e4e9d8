import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { deliveryOutcomes, type DeliverySummary } from '../../core/model.js';
import { listDeliveries, replayDelivery, showDelivery } from '../../operators/operator-actions.js';
import { operatorPermissions } from '../../operators/operator-permissions.js';
import { actorFor, type ConsoleContext, may, operatorContext, optionalId, optionalText, parseInput, redirectWithNotice, renderPage } from '../context.js';
import { html, queryString } from '../html.js';
import { postButton } from '../layout.js';
import { stateBadge } from './deployments.js';

const listQuery = z.object({
  source: optionalText(200),
  outcome: z.preprocess((v) => (v === '' ? undefined : v), z.enum(deliveryOutcomes).optional()),
  cursor: optionalId,
});
const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

const outcomeCell = (d: DeliverySummary) => (d.outcome === 'unknown' ? html`<span class="muted">unknown</span>` : stateBadge(d.outcome));

// Reading and replaying go through the operator actions /api/v1 uses (src/operators): read:deliveries
// to look (payloads masked there), operate:deliveries to replay (audited).
export function registerDeliveryPages(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/deliveries', async (request, reply) => {
    const query = parseInput(listQuery, request.query);
    const page = await listDeliveries(operatorContext(ctx), actorFor(request), { ...(query.source ? { source: query.source } : {}), ...(query.outcome ? { outcome: query.outcome } : {}), ...(query.cursor ? { cursor: query.cursor } : {}), limit: 50 });
    return renderPage(request, reply, {
      title: 'Deliveries',
      section: 'deliveries',
      body: () => html`<form method="get" class="filters" action="/console/deliveries">
<label>Source <input name="source" value="${query.source ?? ''}" placeholder="github, trigger:name"></label>
<label>Outcome <select name="outcome"><option value="">any</option>${deliveryOutcomes.map((o) => html`<option${o === query.outcome ? html` selected` : ''}>${o}</option>`)}</select></label>
<button type="submit">Filter</button> <a href="/console/deliveries">clear</a></form>
${page.deliveries.length === 0
  ? html`<p class="muted">No deliveries match.</p>`
  : html`<table data-testid="deliveries"><thead><tr><th>#</th><th>Source</th><th>Delivery id</th><th>Received</th><th>Outcome</th><th>Attempts</th><th>Error</th></tr></thead><tbody>
${page.deliveries.map((d) => html`<tr><td><a href="/console/deliveries/${d.id}">#${d.id}</a></td><td>${d.source}</td><td><code>${d.deliveryId}</code></td><td>${d.receivedAt}</td><td>${outcomeCell(d)}</td><td>${d.job ? `${d.job.attempts}${d.jobs > 1 ? ` (${d.jobs} runs)` : ''}` : ''}</td><td class="err">${d.job?.lastError?.slice(0, 200) ?? ''}</td></tr>`)}
</tbody></table>`}
${page.next ? html`<p class="pager"><a rel="next" href="/console/deliveries${queryString({ source: query.source, outcome: query.outcome, cursor: page.next })}">Older →</a></p>` : ''}`,
    });
  });

  app.get('/deliveries/:id', async (request, reply) => {
    const actor = actorFor(request);
    const { id } = parseInput(idParams, request.params);
    const delivery = await showDelivery(operatorContext(ctx), actor, id);
    const { summary } = delivery;
    const mayReplay = may(ctx, actor, operatorPermissions.replayDelivery);
    return renderPage(request, reply, {
      title: `Delivery #${delivery.id} from ${delivery.source}`,
      section: 'deliveries',
      body: (csrf) => html`<dl>
<dt>Delivery id</dt><dd><code>${delivery.deliveryId}</code></dd><dt>Received</dt><dd>${delivery.receivedAt}</dd><dt>Content type</dt><dd>${delivery.contentType}</dd>
<dt>Outcome</dt><dd data-testid="outcome">${outcomeCell(summary)}</dd>
${summary.job ? html`<dt>Newest run</dt><dd>job <a href="/console/jobs/${summary.job.id}">#${summary.job.id}</a> (${summary.job.type}), attempt ${summary.job.attempts}${summary.job.finishedAt ? `, finished ${summary.job.finishedAt}` : ''}; ${summary.jobs} run(s) in all</dd>` : ''}
</dl>
${summary.job?.lastError ? html`<h2>Error</h2><pre class="err" data-testid="error">${summary.job.lastError}</pre>` : ''}
${mayReplay && summary.job && summary.outcome !== 'pending' && summary.outcome !== 'running' ? html`<p>${postButton(`/console/deliveries/${delivery.id}/replay`, 'Replay', csrf, {}, 'primary')} <span class="muted">processes it again, as if it had just arrived</span></p>` : ''}
<h2>Headers</h2><pre data-testid="headers">${JSON.stringify(delivery.headers, null, 2)}</pre>
${Object.keys(delivery.query).length > 0 ? html`<h2>Query</h2><pre>${JSON.stringify(delivery.query, null, 2)}</pre>` : ''}
<h2>Payload</h2><pre data-testid="payload">${JSON.stringify(delivery.body, null, 2) ?? 'null'}</pre>
<p class="muted">Secrets (configured and reactions' own) and values under secret-looking names are shown as ***.</p>`,
    });
  });

  app.post('/deliveries/:id/replay', async (request, reply) => {
    const { id } = parseInput(idParams, request.params);
    const { job } = await replayDelivery(operatorContext(ctx), actorFor(request), id);
    return redirectWithNotice(reply, ctx, `/console/deliveries/${id}`, `Delivery #${id} replayed: job #${job.id} processes it again.`);
  });
}
