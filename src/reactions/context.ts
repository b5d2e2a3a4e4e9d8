import type { AnyEvent } from '../core/events.js';
import type { Delivery } from '../core/model.js';

/** The data templates and filters see for an internal event: the event's data, plus app and environment on top. */
export function eventContext(event: AnyEvent): Record<string, unknown> {
  const data = event.data as Record<string, unknown>;
  const subject = (data.deployment ?? data.release ?? data.lock ?? data.approval ?? data.target ?? data.process ?? {}) as { app?: unknown; environment?: unknown };
  return {
    event: { id: event.id, type: event.type, at: event.at, source: event.source },
    app: subject.app ?? null,
    environment: subject.environment ?? null,
    ...data,
  };
}

/**
 * What a webhook reaction sees: the body as `payload`, the query parameters, the headers (stored
 * without credentials, see withoutCredentials).
 */
export function deliveryContext(delivery: Delivery, trigger: string): Record<string, unknown> {
  const headers = delivery.headers;
  return {
    event: { id: delivery.deliveryId, type: 'webhook', at: delivery.receivedAt, source: `trigger:${trigger}` },
    trigger,
    payload: delivery.body,
    query: delivery.query,
    headers,
  };
}
