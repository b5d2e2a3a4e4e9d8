import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { WebhookTrigger } from '../reactions/schema.js';
import { deliveryInbox } from '../store/delivery-inbox.js';
import type { Store } from '../store/types.js';
import { keepRawBodies, parseBody, safeEqual, withoutCredentials } from './webhook-body.js';

export interface TriggerRouteOptions {
  store: Store;
  clock: Clock;
  /** The webhook trigger of the reaction serving /triggers/<name>, if any. */
  trigger: (name: string) => WebhookTrigger | undefined;
  /** Called after a delivery was stored with a job left for any worker, so one picks it up at once. */
  wake: () => void;
  /** Largest accepted body in bytes (413 beyond); default 1 MiB. */
  bodyLimit?: number;
}

function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  if (bearer?.[1]) return bearer[1].trim();
  const query = (request.query as Record<string, unknown>).apiKey;
  return typeof query === 'string' && query ? query : null;
}

/** Why the request is not authentic, or null when it is. */
export function checkAuth(request: FastifyRequest, raw: Buffer, auth: WebhookTrigger['auth']): string | null {
  if (auth.api_key !== undefined) {
    const key = presentedKey(request);
    if (key === null) return 'missing API key: send X-Api-Key, Authorization: Bearer, or ?apiKey=';
    if (!safeEqual(key, auth.api_key)) return 'wrong API key';
  }
  if (auth.hmac) {
    const given = request.headers[auth.hmac.header.toLowerCase()];
    if (typeof given !== 'string' || !given) return `missing signature header ${auth.hmac.header}`;
    const expected = auth.hmac.prefix + createHmac(auth.hmac.algorithm, auth.hmac.secret).update(raw).digest('hex');
    if (!safeEqual(given, expected)) return 'signature does not match the body';
  }
  return null;
}

/**
 * POST /triggers/<name>: authenticate, parse, store the delivery and its job in one transaction,
 * and only then answer 202. A redelivery (same X-Delivery-Id / X-Request-Id / Idempotency-Key)
 * is answered 200 and not processed again.
 */
export async function registerTriggerRoute(http: FastifyInstance, options: TriggerRouteOptions): Promise<void> {
  const inbox = deliveryInbox(options.store);
  await http.register(async (scope) => {
    keepRawBodies(scope, options.bodyLimit);
    scope.post<{ Params: { name: string } }>('/triggers/:name', async (request, reply: FastifyReply) => {
      const name = request.params.name;
      const trigger = options.trigger(name);
      if (!trigger) return reply.code(404).send({ error: `no trigger called "${name}"` });
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const refused = checkAuth(request, raw, trigger.auth);
      if (refused) return reply.code(401).send({ error: refused });
      const parsed = parseBody(String(request.headers['content-type'] ?? ''), raw);
      if (!parsed.ok) return reply.code(parsed.status).send({ error: parsed.error });

      const header = (h: string) => (typeof request.headers[h] === 'string' ? (request.headers[h] as string) : undefined);
      const deliveryId = header('x-delivery-id') ?? header('x-request-id') ?? header('idempotency-key') ?? randomUUID();
      const headers = withoutCredentials(request.headers);
      const query = Object.fromEntries(Object.entries(request.query as Record<string, unknown>).filter(([k, v]) => k !== 'apiKey' && typeof v === 'string')) as Record<string, string>;
      const now = options.clock.now().toISOString();
      // Group commit with the other deliveries of this event-loop turn (see DeliveryInbox).
      const { duplicate, queued } = await inbox.accept({
        delivery: { source: `trigger:${name}`, deliveryId, receivedAt: now, contentType: String(request.headers['content-type'] ?? ''), headers, query, body: parsed.body },
        job: { type: 'delivery', runAt: now, maxAttempts: 5 },
        ...(parsed.text !== undefined ? { bodyText: parsed.text } : {}),
      });
      if (queued) options.wake();
      return reply.code(duplicate ? 200 : 202).send({ status: duplicate ? 'duplicate' : 'accepted', delivery: deliveryId });
    });
  });
}
