import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { DeckhandMetrics } from '../metrics/metrics.js';

/** Constant-time: both sides are hashed first, so neither the content nor the length leaks through timing. */
function sameToken(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * GET /metrics: the Prometheus text format. With `token` (DECKHAND_METRICS_TOKEN) the scraper
 * must send `Authorization: Bearer <token>`; anything else is answered 401. Never cached.
 */
export function registerMetricsRoute(http: FastifyInstance, options: { metrics: DeckhandMetrics; token?: string | undefined }): void {
  http.get('/metrics', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (options.token) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      if (!bearer?.[1] || !sameToken(bearer[1], options.token)) {
        return reply.code(401).header('www-authenticate', 'Bearer realm="deckhand-metrics"').send({ error: 'GET /metrics needs Authorization: Bearer <DECKHAND_METRICS_TOKEN>' });
      }
    }
    const { contentType, body } = await options.metrics.text();
    return reply.type(contentType).send(body);
  });
}
