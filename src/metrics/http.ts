import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DeckhandMetrics } from './metrics.js';

/** The routes that take deliveries (route templates, as Fastify knows them), and the source label of each. */
const deliveryRoutes: Readonly<Record<string, string>> = {
  '/webhooks/github': 'github',
  '/webhooks/octopus': 'octopus',
  '/webhooks/victorops': 'victorops',
  '/triggers/:name': 'trigger',
};

/** adapters/slack/slack-adapter.ts's path; not imported, so the server does not depend on the adapter. */
const slackEventsPath = '/slack/events';

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Why a delivery was refused, from the status its route answered: a small fixed set. */
export function refusalReason(status: number): string {
  switch (status) {
    case 400:
    case 422:
      return 'bad_request';
    case 401:
    case 403:
      return 'unauthorized';
    case 404:
      return 'not_found';
    case 413:
      return 'too_large';
    case 415:
      return 'unsupported_type';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'server_error' : 'client_error';
  }
}

/**
 * How a delivery route's answer reads: 202 accepted, 200 duplicate (a GitHub ping is `ignored`),
 * 503 and 4xx refused with a reason, other 5xx failed. Every route answers this way (see
 * src/http/*-webhook-route.ts and trigger-route.ts), so they need not count anything themselves.
 */
export function deliveryOutcome(status: number, request: Pick<FastifyRequest, 'headers'>, source: string): { outcome: string; reason: string } {
  if (status === 202) return { outcome: 'accepted', reason: 'none' };
  if (status >= 200 && status < 300) {
    if (source === 'github' && request.headers['x-github-event'] === 'ping') return { outcome: 'ignored', reason: 'ping' };
    return { outcome: 'duplicate', reason: 'none' };
  }
  if (status >= 400 && (status < 500 || status === 503)) return { outcome: 'refused', reason: refusalReason(status) };
  return { outcome: 'failed', reason: refusalReason(status) };
}

/**
 * One onResponse hook on the root of the server: request latency by route template (never the
 * raw URL: `/triggers/:name`, and "unmatched" for paths no route serves) and deliveries by how
 * their route answered. Added before the routes, it applies to every one of them and to the 404s.
 */
export function observeHttp(app: FastifyInstance, metrics: DeckhandMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // Slack's HTTP mode takes /slack/events in an onRequest hook (the adapter), outside Fastify's routes.
    const route = request.routeOptions.url ?? (request.url.split('?')[0] === slackEventsPath ? slackEventsPath : 'unmatched');
    const status = reply.statusCode;
    metrics.httpDuration.observe({ method: methods.has(request.method) ? request.method : 'other', route, status_code: String(status) }, reply.elapsedTime / 1000);
    const source = request.method === 'POST' ? deliveryRoutes[route] : undefined;
    if (source) metrics.deliveries.inc({ source, ...deliveryOutcome(status, request, source) });
  });
}
