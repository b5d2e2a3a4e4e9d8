import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { victorOpsSignature } from '../oncall/signature.js';
import type { Store } from '../store/types.js';
import { keepRawBodies, safeEqual } from './webhook-body.js';

export interface VictorOpsWebhookOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** SPLUNK_ONCALL_WEBHOOK_URL: the URL exactly as configured in Splunk On-Call (it is part of the signature). */
  url: string;
  /** SPLUNK_ONCALL_WEBHOOK_KEY: the webhook's auth key. */
  key: string;
  wake: () => void;
  bodyLimit?: number;
}

/**
 * POST /webhooks/victorops: Splunk On-Call escalation webhooks. Form-encoded bodies, signed in
 * X-VictorOps-Signature over the configured URL (never the URL this request arrived at, which a
 * proxy may have rewritten) and the sorted parameters. Stored before the 202; an identical body
 * sent again is answered 200 and not processed twice.
 */
export async function registerVictorOpsWebhookRoute(http: FastifyInstance, options: VictorOpsWebhookOptions): Promise<void> {
  await http.register(async (scope) => {
    keepRawBodies(scope, options.bodyLimit ?? 1024 * 1024);
    scope.post('/webhooks/victorops', async (request, reply) => {
      const type = String(request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/x-www-form-urlencoded') {
        return reply.code(415).send({ error: `escalation webhooks are application/x-www-form-urlencoded, not "${type || '(none)'}"` });
      }
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const given = request.headers['x-victorops-signature'];
      if (typeof given !== 'string' || !given) return reply.code(401).send({ error: 'missing X-VictorOps-Signature' });
      const params = new URLSearchParams(raw.toString('utf8'));
      if (!safeEqual(given, victorOpsSignature(options.key, options.url, params))) {
        return reply.code(401).send({ error: 'X-VictorOps-Signature does not match: check SPLUNK_ONCALL_WEBHOOK_KEY, and that SPLUNK_ONCALL_WEBHOOK_URL is the URL exactly as configured in Splunk On-Call' });
      }
      const fields: Record<string, string> = {};
      for (const [k, v] of params) Object.defineProperty(fields, k, { value: v, enumerable: true, writable: true, configurable: true });
      if (!fields.entity_id || !fields.message_type) return reply.code(400).send({ error: 'entity_id and message_type are required' });
      const now = options.clock.now().toISOString();
      const { duplicate } = await options.store.acceptDelivery(
        {
          source: 'victorops',
          deliveryId: createHash('sha256').update(raw).digest('hex'),
          receivedAt: now,
          contentType: type,
          headers: { 'user-agent': String(request.headers['user-agent'] ?? '') },
          query: {},
          body: fields,
        },
        { type: 'victorops', runAt: now, maxAttempts: 8 },
      );
      if (!duplicate) options.wake();
      options.logger.info({ entity: fields.entity_id, messageType: fields.message_type, duplicate }, 'splunk on-call webhook accepted');
      return reply.code(duplicate ? 200 : 202).send({ status: duplicate ? 'duplicate' : 'accepted' });
    });
  });
}
