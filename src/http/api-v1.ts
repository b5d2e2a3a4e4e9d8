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

export interface ApiOptions {
  store: Store;
  clock: Clock;
  actions: Actions;
  chat: () => ChatPort | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiToken?: ApiToken;
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
export async function registerApiV1(http: FastifyInstance, options: ApiOptions): Promise<void> {
  await http.register(
    async (api) => {
      api.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
        const token = bearer ? await options.store.findApiToken(hashToken(bearer), options.clock.now().toISOString()) : null;
        if (!token) return reply.code(401).send({ error: 'missing, unknown or expired token: send Authorization: Bearer $DECKHAND_API_TOKEN', code: ErrorCode.Forbidden });
        request.apiToken = token;
      });
      api.setErrorHandler((err: unknown, _request, reply) => {
        // Fastify's own 4xx (malformed JSON 400, body too large 413) keep their status.
        const status = (err as { statusCode?: number }).statusCode;
        if (status && status < 500 && !(err instanceof DeckhandError)) return reply.code(status).send({ error: (err as Error).message });
        const error = asDeckhandError(err);
        // The database is away (E_STORE_UNAVAILABLE, 503): say when to try again.
        if (error.code === ErrorCode.StoreUnavailable) reply.header('retry-after', String(storeRetryAfterSeconds));
        return reply.code(httpStatusFor(error)).send({ error: error.message, code: error.code });
      });
      // Two gates: the token's scopes (what the reaction declared under api:), then, in the action
      // layer, the roles of the token's actor. Never system: a script is not Deckhand itself.
      const need = (request: FastifyRequest, scope: ApiScope): Actor => {
        const token = request.apiToken as ApiToken;
        if (!token.scopes.includes(scope)) {
          throw new DeckhandError(ErrorCode.Forbidden, `this token may not ${scope} (it may: ${token.scopes.join(', ') || 'nothing'}); a reaction's script lists what it needs under api:`, {
            needed: scope,
            scopes: token.scopes,
          });
        }
        return { id: token.actor };
      };

      api.post('/releases', async (request, reply) => {
        const { release, url, packages } = await options.actions.createRelease(need(request, 'release'), parse(releaseBody, request.body));
        return reply.code(201).send({ release, url, packages });
      });
      api.post('/deployments', async (request, reply) => {
        const { deployment, approval } = await options.actions.deploy(need(request, 'deploy'), { ...parse(deployBody, request.body), source: 'api' });
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
    },
    { prefix: '/api/v1' },
  );
}
