import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { deliveryInbox } from '../store/delivery-inbox.js';
import type { Store } from '../store/types.js';
import { keepRawBodies, parseBody, safeEqual } from './webhook-body.js';

export interface GitHubWebhookOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** GITHUB_WEBHOOK_SECRET. */
  secret: string;
  /** Called after a delivery was stored with a job left for any worker, so one picks it up at once. */
  wake: () => void;
  /**
   * Whether Deckhand acts on this event (githubEventNeedsJob); when not, the delivery is stored
   * with its job done at intake. Default: every event gets a job.
   */
  actsOn?: (event: string, body: unknown) => boolean;
  bodyLimit?: number;
}

/** GitHub's signature: "sha256=" + hex HMAC-SHA256 of the raw body, keyed by the webhook secret. */
export function githubSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const keptHeaders = ['x-github-event', 'x-github-delivery', 'x-github-hook-id', 'x-github-hook-installation-target-type', 'x-github-hook-installation-target-id', 'user-agent', 'content-type'];

/**
 * POST /webhooks/github. Verifies X-Hub-Signature-256 over the raw body (constant time), accepts
 * JSON and form (`payload=`) bodies as GitHub may send either, stores the delivery keyed by
 * X-GitHub-Delivery and answers 202 — well within GitHub's 10 s — before any processing. A
 * redelivery is answered 200 and not processed again. `ping` is answered 200.
 */
export async function registerGitHubWebhookRoute(http: FastifyInstance, options: GitHubWebhookOptions): Promise<void> {
  const inbox = deliveryInbox(options.store);
  await http.register(async (scope) => {
    keepRawBodies(scope, options.bodyLimit ?? 25 * 1024 * 1024); // GitHub caps payloads at 25 MB
    scope.post('/webhooks/github', async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const given = request.headers['x-hub-signature-256'];
      if (typeof given !== 'string' || !given) return reply.code(401).send({ error: 'missing X-Hub-Signature-256: set the webhook secret in GitHub to GITHUB_WEBHOOK_SECRET' });
      if (!safeEqual(given, githubSignature(options.secret, raw))) return reply.code(401).send({ error: 'X-Hub-Signature-256 does not match the body' });

      const event = request.headers['x-github-event'];
      const deliveryId = request.headers['x-github-delivery'];
      if (typeof event !== 'string' || !event || typeof deliveryId !== 'string' || !deliveryId) {
        return reply.code(400).send({ error: 'X-GitHub-Event and X-GitHub-Delivery are required' });
      }
      const parsed = parseBody(String(request.headers['content-type'] ?? ''), raw, { formPayloadField: 'payload' });
      if (!parsed.ok) return reply.code(parsed.status).send({ error: parsed.error });
      if (event === 'ping') return reply.code(200).send({ status: 'pong' });

      const headers = Object.fromEntries(keptHeaders.flatMap((h) => (typeof request.headers[h] === 'string' ? [[h, request.headers[h] as string]] : [])));
      const now = options.clock.now().toISOString();
      // Stored with the other deliveries of this event-loop turn, in one transaction (group commit);
      // answered only after it committed. The body's JSON text is stored as received.
      // An event nothing acts on (most of what a repository's webhook sends) is stored all the
      // same — listed, kept for retention, replayable — with its job done at intake: no worker runs it.
      const acted = options.actsOn?.(event, parsed.body) ?? true;
      const { duplicate, queued } = await inbox.accept({
        delivery: { source: 'github', deliveryId, receivedAt: now, contentType: String(request.headers['content-type'] ?? ''), headers, query: {}, body: parsed.body },
        job: { type: 'github', runAt: now, maxAttempts: 8, ...(acted ? {} : { doneAtIntake: true }) },
        ...(parsed.text !== undefined ? { bodyText: parsed.text } : {}),
      });
      if (queued) options.wake();
      options.logger.info({ event, deliveryId, duplicate, ...(acted ? {} : { ignored: 'Deckhand does not act on it' }) }, 'github webhook accepted');
      return reply.code(duplicate ? 200 : 202).send({ status: duplicate ? 'duplicate' : 'accepted', delivery: deliveryId });
    });
  });
}
