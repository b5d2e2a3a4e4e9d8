import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../core/logger.js';

export interface HttpServerOptions {
  logger: Logger;
  /** Resolves with the checks behind /readyz; any false check answers 503. */
  readiness: () => Promise<Record<string, boolean>>;
  /** Largest accepted request body; default 1 MiB. Larger bodies get 413. */
  bodyLimit?: number;
}

const probes = new Set(['/healthz', '/readyz']);

/** The bot's one HTTP server. Later surfaces (Slack events, webhooks, triggers, REST) register routes here. */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Probes every few seconds would drown the log; other requests are logged.
    logController: new LogController({ disableRequestLogging: (request) => probes.has(request.url) }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    let checks: Record<string, boolean>;
    try {
      checks = await options.readiness();
    } catch {
      checks = { store: false };
    }
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  return app;
}
