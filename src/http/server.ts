import { createRequire } from 'node:module';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { lazyRequire } from '../core/lazy-module.js';
import type { Logger } from '../core/logger.js';
import { isStoreUnavailable, storeRetryAfterSeconds } from '../store/store-unavailable.js';
import { jsonNestsDeeperThan, maxJsonDepth, tooDeepMessage } from './webhook-body.js';

export interface HttpServerOptions {
  logger: Logger;
  /** Resolves with the checks behind /readyz; any false check answers 503. */
  readiness: () => Promise<Record<string, boolean>>;
  /**
   * How long /readyz waits for the checks; past it, it answers 503 (the store check is the one that
   * waits: a database that stopped answering without closing its connections). Default 3 s.
   */
  readinessTimeoutMs?: number;
  /** Largest accepted request body; default 1 MiB. Larger bodies get 413. */
  bodyLimit?: number;
}

const probes = new Set(['/healthz', '/readyz']);

/**
 * Fastify requires its schema compilers (ajv with ajv-formats, fast-json-stringify: ~50 ms, ~100
 * files) when it builds an instance, though they only run for a route with a JSON schema, and
 * Deckhand's routes have none (bodies are checked with zod). These builders load them at the first
 * route that has one. (Fastify counts a builder passed in as "custom": it would then hand a
 * `headers` schema to ajv as written instead of lower-casing its keys first — write them lower-case.)
 */
type CompilerBuilder = (...args: unknown[]) => unknown;
const fastifyFile = createRequire(import.meta.url).resolve('fastify');
const ajvCompiler = lazyRequire<() => CompilerBuilder>('@fastify/ajv-compiler', fastifyFile);
const stringifyCompiler = lazyRequire<() => CompilerBuilder>('@fastify/fast-json-stringify-compiler', fastifyFile);
/** One builder per server, as Fastify makes (each keeps its own pool of compiled schemas). */
function lazyBuilder(selector: () => () => CompilerBuilder): CompilerBuilder {
  let builder: CompilerBuilder | undefined;
  return (...args) => (builder ??= selector()())(...args);
}

/** The bot's one HTTP server. Later surfaces (Slack events, webhooks, triggers, REST) register routes here. */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Probes every few seconds would drown the log; other requests are logged.
    logController: new LogController({ disableRequestLogging: (request) => probes.has(request.url) }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    schemaController: { compilersFactory: { buildValidator: lazyBuilder(ajvCompiler), buildSerializer: lazyBuilder(stringifyCompiler) } } as FastifyServerOptions['schemaController'],
  });
  limitJsonDepth(app);
  answerStoreUnavailable(app);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    let checks: Record<string, boolean>;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('readiness checks timed out')), options.readinessTimeoutMs ?? 3000);
      });
      checks = await Promise.race([options.readiness(), timedOut]);
    } catch {
      checks = { store: false };
    } finally {
      clearTimeout(timer);
    }
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  return app;
}

/**
 * A route whose store call failed because the database is away (E_STORE_UNAVAILABLE) answers 503
 * with Retry-After: the request was not stored (an Octopus batch perhaps in part; deliveries are
 * keyed, so sending it all again is safe), the sender should try again, and a 202 would be a lie. Every other error goes on to Fastify's
 * own handler. Scopes registered later inherit this; /api/v1 has its own handler, which does the same.
 */
function answerStoreUnavailable(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    if (!isStoreUnavailable(err)) throw err;
    request.log.warn({ err }, 'the store is unavailable: answered 503');
    return reply
      .code(503)
      .header('retry-after', String(storeRetryAfterSeconds))
      .send({ error: 'the database is unavailable just now, so this request was not (fully) stored: send it again shortly (a repeat is recognised)', code: ErrorCode.StoreUnavailable });
  });
}

/**
 * Fastify's own JSON parser (same proto-poisoning rules, same 400s), behind the depth check that
 * webhook bodies get: /api/v1 and any later JSON route then answer a too-deep body with a 400,
 * never a stack overflow further on. Routes that keep raw bodies replace all parsers in their
 * own scope and check depth when they parse.
 */
function limitJsonDepth(app: FastifyInstance): void {
  const { onProtoPoisoning = 'error', onConstructorPoisoning = 'error' } = app.initialConfig;
  const parseJson = app.getDefaultJsonParser(onProtoPoisoning, onConstructorPoisoning);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (!jsonNestsDeeperThan(body as string, maxJsonDepth)) return parseJson(request, body as string, done);
    done(Object.assign(new DeckhandError(ErrorCode.Usage, tooDeepMessage()), { statusCode: 400 }), undefined);
  });
}
