import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listAudit } from '../../operators/operator-actions.js';
import { actorFor, type ConsoleContext, operatorContext, optionalId, optionalText, parseInput, renderPage } from '../context.js';
import { html, queryString } from '../html.js';

/** A date or date-time from a form (2026-11-26 or 2026-11-26T10:00), as an ISO instant (UTC). */
const instant = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .max(40)
    .regex(/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?$/, 'write a date such as 2026-11-26 or 2026-11-26T10:00')
    .transform((v, zctx) => {
      const date = new Date(v.length === 10 ? `${v}T00:00:00Z` : v.endsWith('Z') ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`);
      if (Number.isNaN(date.getTime())) {
        zctx.addIssue({ code: 'custom', message: 'not a real date' });
        return z.NEVER;
      }
      return date.toISOString();
    })
    .optional(),
);
const auditQuery = z.object({
  actor: optionalText(200),
  action: optionalText(100),
  app: optionalText(100),
  environment: optionalText(100),
  since: instant,
  until: instant,
  before: optionalId,
});
const pageSize = 50;

export function registerAuditPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/audit', async (request, reply) => {
    const query = parseInput(auditQuery, request.query);
    const rows = await listAudit(operatorContext(ctx), actorFor(request), {
      ...(query.actor ? { actor: query.actor } : {}),
      ...(query.action ? { action: query.action } : {}),
      ...(query.app ? { app: query.app } : {}),
      ...(query.environment ? { environment: query.environment } : {}),
      ...(query.since ? { since: query.since } : {}),
      ...(query.until ? { until: query.until } : {}),
      ...(query.before ? { beforeId: query.before } : {}),
      limit: pageSize + 1,
    });
    const page = rows.slice(0, pageSize);
    const next = rows.length > pageSize ? page.at(-1)?.id : undefined;
    const raw = request.query as Record<string, string | undefined>;
    return renderPage(request, reply, {
      title: 'Audit log',
      section: 'audit',
      body: () => html`<form method="get" class="filters" action="/console/audit">
<label>Actor <input name="actor" value="${query.actor ?? ''}"></label><label>Action <input name="action" value="${query.action ?? ''}" placeholder="deploy, lock.takeover"></label>
<label>App <input name="app" value="${query.app ?? ''}"></label><label>Environment <input name="environment" value="${query.environment ?? ''}"></label>
<label>Since (UTC) <input name="since" value="${raw.since ?? ''}" placeholder="2026-11-26"></label><label>Until (UTC) <input name="until" value="${raw.until ?? ''}"></label>
<button type="submit">Search</button> <a href="/console/audit">clear</a></form>
${page.length === 0
  ? html`<p class="muted">No audit records match.</p>`
  : html`<table data-testid="audit"><thead><tr><th>At</th><th>Actor</th><th>Action</th><th>Target</th><th>Outcome</th><th>Details</th></tr></thead><tbody>
${page.map((r) => html`<tr><td>${r.at}</td><td>${r.actor}</td><td>${r.action}</td><td>${r.target}</td><td>${r.outcome}</td><td><code>${JSON.stringify(r.details)}</code></td></tr>`)}
</tbody></table>`}
${next ? html`<p class="pager"><a rel="next" href="/console/audit${queryString({ actor: query.actor, action: query.action, app: query.app, environment: query.environment, since: raw.since, until: raw.until, before: next })}">Older →</a></p>` : ''}`,
    });
  });
}
