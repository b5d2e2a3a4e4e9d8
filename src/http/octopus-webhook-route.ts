import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import { keepRawBodies, parseBody, safeEqual } from './webhook-body.js';

export interface OctopusWebhookOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** OCTOPUS_WEBHOOK_HEADER / OCTOPUS_WEBHOOK_SECRET: the subscription's custom header. */
  header: string;
  secret: string;
  wake: () => void;
  bodyLimit?: number;
}

interface OctopusEvent {
  Id?: unknown;
  Category?: unknown;
}

interface SubscriptionPayload {
  Payload?: { ServerUri?: string | null; Event?: OctopusEvent; Events?: OctopusEvent[] };
}

/**
 * POST /webhooks/octopus: Octopus subscription webhooks. Octopus signs nothing; a subscription can
 * send one custom header, whose value is the shared secret (compared in constant time). The body
 * is JSON whatever its content type. Each event ("Single event" payloads carry one, "Digest"
 * payloads several) is stored as a delivery keyed by its event id before the 202, so batches that
 * Octopus sends twice are processed once.
 */
export async function registerOctopusWebhookRoute(http: FastifyInstance, options: OctopusWebhookOptions): Promise<void> {
  const header = options.header.toLowerCase();
  await http.register(async (scope) => {
    keepRawBodies(scope, options.bodyLimit ?? 5 * 1024 * 1024);
    scope.post('/webhooks/octopus', async (request, reply) => {
      const given = request.headers[header];
      if (typeof given !== 'string' || !safeEqual(given, options.secret)) {
        return reply.code(401).send({ error: `missing or wrong ${options.header}: set the subscription's header key to ${options.header} and its value to OCTOPUS_WEBHOOK_SECRET` });
      }
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const parsed = parseBody('application/json', raw);
      if (!parsed.ok) return reply.code(parsed.status).send({ error: parsed.error });
      const payload = (parsed.body as SubscriptionPayload | null)?.Payload;
      const events = payload?.Events ?? (payload?.Event ? [payload.Event] : []);
      if (events.length === 0 || events.some((e) => typeof e.Id !== 'string' || typeof e.Category !== 'string')) {
        return reply.code(400).send({ error: 'not an Octopus subscription payload: Payload.Event (or Payload.Events) with Id and Category is required' });
      }
      const now = options.clock.now().toISOString();
      let accepted = 0;
      for (const event of events) {
        const { duplicate } = await options.store.acceptDelivery(
          {
            source: 'octopus',
            deliveryId: String(event.Id),
            receivedAt: now,
            contentType: String(request.headers['content-type'] ?? ''),
            headers: { 'user-agent': String(request.headers['user-agent'] ?? '') },
            query: {},
            body: { ServerUri: payload?.ServerUri ?? null, Event: event },
          },
          { type: 'octopus', runAt: now, maxAttempts: 8 },
        );
        if (!duplicate) accepted += 1;
      }
      if (accepted > 0) options.wake();
      options.logger.info({ events: events.map((e) => `${String(e.Category)} ${String(e.Id)}`), accepted }, 'octopus webhook accepted');
      return reply.code(accepted > 0 ? 202 : 200).send({ status: accepted > 0 ? 'accepted' : 'duplicate', events: events.length, accepted });
    });
  });
}
