import type { FastifyInstance } from 'fastify';
import type { Job } from '../../core/model.js';
import { operatorPermissions } from '../../operators/operator-permissions.js';
import type { Reaction } from '../../reactions/load-reactions.js';
import { actorFor, type ConsoleContext, may, renderPage } from '../context.js';
import { html } from '../html.js';
import { stateBadge } from './deployments.js';

/** The newest reaction runs read for the page (one indexed query); older ones are on the Jobs page. */
const recentRuns = 500;

function trigger(reaction: Reaction): string {
  const on = reaction.on as { event?: string | string[]; webhook?: string; schedule?: string };
  if (on.webhook) return `webhook POST /triggers/${on.webhook}`;
  if (on.schedule) return `schedule ${on.schedule}`;
  return `event ${[on.event ?? []].flat().join(', ')}`;
}

export function registerReactionPage(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/reactions', async (request, reply) => {
    const actor = actorFor(request);
    const runs = await ctx.store.listJobs({ type: 'reaction', limit: recentRuns });
    const byReaction = new Map<string, Job[]>();
    for (const job of runs) {
      const name = (job.payload as { reaction?: unknown } | null)?.reaction;
      if (typeof name !== 'string') continue;
      byReaction.set(name, [...(byReaction.get(name) ?? []), job]);
    }
    const mayReadJobs = may(ctx, actor, operatorPermissions.readJobs);
    const runLink = (job: Job) => (mayReadJobs ? html`<a href="/console/jobs/${job.id}">${stateBadge(job.state)}</a>` : stateBadge(job.state));
    return renderPage(request, reply, {
      title: 'Reactions',
      section: 'reactions',
      body: () => html`<table data-testid="reactions"><thead><tr><th>Reaction</th><th>Trigger</th><th>Status</th><th>Last runs (newest first)</th><th>Last failure</th></tr></thead><tbody>
${ctx.reactions.map((r) => {
  const jobs = byReaction.get(r.name) ?? [];
  const failed = jobs.find((j) => j.state === 'dead' || (j.lastError && j.state !== 'done'));
  return html`<tr><td><strong>${r.name}</strong>${r.description ? html`<br><span class="muted">${r.description}</span>` : ''}</td><td>${trigger(r)}</td><td>${stateBadge('on')}</td>
<td>${jobs.length === 0 ? html`<span class="muted">none recently</span>` : jobs.slice(0, 5).map((j) => html`${runLink(j)} `)}</td>
<td class="err">${failed ? (mayReadJobs ? `${failed.createdAt}: ${failed.lastError?.slice(0, 200) ?? failed.state}` : `${failed.createdAt} (the error needs read:jobs)`) : ''}</td></tr>`;
})}
${ctx.disabledReactions.map((d) => html`<tr><td><strong>${d.name}</strong><br><span class="muted">${d.file}</span></td><td></td><td>${stateBadge('off')} <span class="muted">${d.reason}</span></td><td></td><td></td></tr>`)}
</tbody></table>
${ctx.reactions.length + ctx.disabledReactions.length === 0 ? html`<p class="muted">No reactions are loaded.</p>` : ''}`,
    });
  });
}
