import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actions } from '../actions/index.js';
import type { ChatPort } from '../chat/chat-port.js';
import type { Clock } from '../core/clock.js';
import { asDeckhandError, DeckhandError, ErrorCode, httpStatusFor } from '../core/errors.js';
import { storeRetryAfterSeconds } from '../store/store-unavailable.js';
import type { Actor } from '../core/permissions.js';
import type { Store } from '../store/types.js';
import type { ApiToken } from '../core/model.js';
import { hashToken, type ApiScope } from './api-tokens.js';
import { idempotencyKeyOf } from './idempotency-key.js';
import type { DeckhandConfig } from '../config/types.js';
import { authenticateOperatorToken, operatorTokenPrefix, type OperatorIdentity } from '../operators/operator-tokens.js';
import { operatorPermissions, requirePermission } from '../operators/operator-permissions.js';
import { registerOperatorRoutes } from './api-v1-operators.js';
import { openApiDocument } from './openapi.js';

export interface ApiOptions {
  store: Store;
  clock: Clock;
  actions: Actions;
  chat: () => ChatPort | null;
  /** Roles and permissions, for operator tokens (which act with one role). */
  config: DeckhandConfig;
  /** Values masked in stored payloads shown to operators (config and reaction secrets). */
  secrets?: () => readonly string[];
  /** Wakes this process's worker after a replay or retry queued a job. */
  wake?: () => void;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiToken?: ApiToken;
    /** Set instead of apiToken when the bearer is an operator token (deckhand token create). */
    operator?: OperatorIdentity;
  }
}

const releaseBody = z.object({ app: z.string(), version: z.string(), notes: z.string().optional(), packages: z.record(z.string(), z.string()).optional() }).strict();
const deployBody = z.object({ app: z.string(), ref: z.string().optional(), environment: z.string().optional(), dryRun: z.boolean().optional() }).strict();
const messageBody = z.object({ channel: z.string().min(1), text: z.string().min(1).max(4000), thread: z.string().optional() }).strict();
const listQuery = z.object({ app: z.string(), environment: z.string().optional(), limit: z.coerce.number().int().min(1).max(100).optional() });

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new DeckhandError(ErrorCode.Usage, result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return result.data;
}

/**
 * The REST API scripts get (DECKHAND_API_URL + DECKHAND_API_TOKEN): create a release, start a
 * deployment, list deployments, post a chat message. Every call goes through the action layer
 * as the token's actor, with that actor's roles (roles can list reaction:<name> as a member).
 */
/** The routes each server registered under /api/v1 (OpenAPI path style), so a test can check every one is described. */
export const apiV1Routes = new WeakMap<FastifyInstance, Array<{ method: string; path: string }>>();

export async function registerApiV1(http: FastifyInstance, options: ApiOptions): Promise<void> {
  const routes = [{ method: 'GET', path: '/openapi.json' }];
  apiV1Routes.set(http, routes);
  // The description of this API needs no token (src/http/openapi.ts).
  http.get('/api/v1/openapi.json', async () => openApiDocument);
  await http.register(
    async (api) => {
      api.addHook('onRoute', (route) => {
        const path = route.url.replace(/^\/api\/v1/, '').replace(/:(\w+)/g, '{$1}');
        for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, path });
      });
      api.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
        // Operator tokens (dho_...) act with a configured role; run tokens (dh_...) as a reaction's run.
        if (bearer?.startsWith(operatorTokenPrefix)) {
          const operator = await authenticateOperatorToken(options.store, options.clock, bearer);
          if (operator) return void (request.operator = operator);
        } else {
          const token = bearer ? await options.store.findApiToken(hashToken(bearer), options.clock.now().toISOString()) : null;
          if (token) return void (request.apiToken = token);
        }
        return reply.code(401).send({ error: 'missing, unknown, revoked or expired token: send Authorization: Bearer <token> ($DECKHAND_API_TOKEN in a reaction script, or an operator token from deckhand token create)', code: ErrorCode.Forbidden });
      });
      api.setErrorHandler((err: unknown, _request, reply) => {
        // Fastify's own 4xx (malformed JSON 400, body too large 413) keep their status.
        const status = (err as { statusCode?: number }).statusCode;
        if (status && status < 500 && !(err instanceof DeckhandError)) return reply.code(status).send({ error: (err as Error).message });
        const error = asDeckhandError(err);
        // The database is away (E_STORE_UNAVAILABLE, 503): say when to try again.
        if (error.code === ErrorCode.StoreUnavailable) reply.header('retry-after', String(storeRetryAfterSeconds));
        // A refusal names the permission it needs and the roles that have it.
        const { needed, roles } = error.code === ErrorCode.Forbidden ? (error.details as { needed?: unknown; roles?: unknown }) : {};
        return reply.code(httpStatusFor(error)).send({ error: error.message, code: error.code, ...(needed !== undefined ? { needed } : {}), ...(roles !== undefined ? { roles } : {}) });
      });
      // Two gates: the token's scopes (what the reaction declared under api:), then, in the action
      // layer, the roles of the token's actor. Never system: a script is not Deckhand itself.
      const need = (request: FastifyRequest, scope: ApiScope): Actor => {
        // An operator token has no scopes: its role decides, here for what the action layer does not check.
        if (request.operator) {
          if (scope === 'read') requirePermission(options.config, request.operator.actor, operatorPermissions.readDeployments);
          if (scope === 'message') requirePermission(options.config, request.operator.actor, operatorPermissions.postMessage);
          return request.operator.actor;
        }
        const token = request.apiToken as ApiToken;
        if (!token.scopes.includes(scope)) {
          throw new DeckhandError(ErrorCode.Forbidden, `this token may not ${scope} (it may: ${token.scopes.join(', ') || 'nothing'}); a reaction's script lists what it needs under api:`, {
            needed: scope,
            scopes: token.scopes,
          });
        }
        return { id: token.actor };
      };

      // With Idempotency-Key, a repeat of the same request answers what the first one made (header
      // Idempotent-Replayed: true) and makes nothing new; the key with another body is 409.
      api.post('/releases', async (request, reply) => {
        const actor = need(request, 'release');
        const requestKey = idempotencyKeyOf(request.headers, actor);
        const { release, url, packages, replayed } = await options.actions.createRelease(actor, parse(releaseBody, request.body), requestKey ? { requestKey } : {});
        if (replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(201).send({ release, url, packages });
      });
      api.post('/deployments', async (request, reply) => {
        const actor = need(request, 'deploy');
        const requestKey = idempotencyKeyOf(request.headers, actor);
        const { deployment, approval, replayed } = await options.actions.deploy(actor, { ...parse(deployBody, request.body), source: 'api' }, requestKey ? { requestKey } : {});
        if (replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(202).send({ deployment, approval });
      });
      api.get('/deployments', async (request) => {
        need(request, 'read');
        const query = parse(listQuery, request.query);
        return options.actions.recentDeployments(query.app, query.environment, query.limit);
      });
      api.post('/messages', async (request, reply) => {
        need(request, 'message');
        const body = parse(messageBody, request.body);
        const chat = options.chat();
        if (!chat) throw new DeckhandError(ErrorCode.Conflict, 'no chat adapter is running');
        await chat.post(body.channel, body.text, body.thread);
        return reply.code(202).send({ status: 'queued' });
      });
      registerOperatorRoutes(api, options);
    },
    { prefix: '/api/v1' },
  );
}
