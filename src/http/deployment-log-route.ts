import type { FastifyInstance } from 'fastify';
import { type Store } from '../store/types.js';
import { isMirrored, type Deployment } from '../core/model.js';
import { safeEqual } from './webhook-body.js';

/** The log URL of a deployment; its token is the capability, so the URL is unguessable. */
export function deploymentLogUrl(publicUrl: string, deployment: { id: number; logToken: string }): string {
  return `${publicUrl.replace(/\/+$/, '')}/deployments/${deployment.id}/log?token=${encodeURIComponent(deployment.logToken)}`;
}

/**
 * Where a deployment's log can be read: Deckhand's own log for deployments it runs, the other
 * system's log for a mirrored one (null when it gave none).
 */
export function logLinkFor(publicUrl: string | null | undefined, deployment: Deployment): string | null {
  if (isMirrored(deployment)) return deployment.external?.logUrl ?? null;
  return publicUrl ? deploymentLogUrl(publicUrl, deployment) : null;
}

/**
 * GET /deployments/:id/log?token=… — the whole output of a run as plain text. A wrong or missing
 * token gets the same 404 as an unknown deployment, so ids cannot be probed.
 */
export function registerDeploymentLogRoute(http: FastifyInstance, store: Store): void {
  http.get<{ Params: { id: string }; Querystring: { token?: string } }>('/deployments/:id/log', async (request, reply) => {
    const id = Number(request.params.id);
    const deployment = Number.isInteger(id) && id > 0 ? await store.getDeployment(id) : null;
    if (!deployment || !deployment.logToken || !safeEqual(String(request.query.token ?? ''), deployment.logToken)) {
      return reply.code(404).type('text/plain').send('Not found\n');
    }
    const lines = await store.readLog(deployment.id);
    const header = `Deployment #${deployment.id} ${deployment.app}/${deployment.ref} to ${deployment.environment} — ${deployment.state}${deployment.reason ? ` (${deployment.reason})` : ''}\n\n`;
    const body = lines.map((l) => (l.stream === 'stderr' ? `! ${l.line}` : `  ${l.line}`)).join('\n');
    return reply
      .type('text/plain; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(`${header}${body || '(no output)'}\n`);
  });
}
