import type { Delivery } from '../core/model.js';
import type { AcceptedDelivery, DeliveryToAccept } from './types.js';

/** At most this many deliveries, or this much body text, are held for the worker. */
const MAX_ENTRIES = 256;
const MAX_TEXT = 8 * 1024 * 1024;

/**
 * Parse once: a webhook's body is parsed when it arrives (to refuse what is not JSON with a 400),
 * and its job — usually run by this same process a few milliseconds later — used to read the body
 * back and parse it a second time. A store keeps the deliveries it has just accepted here, as the
 * Delivery its getDelivery would return, and hands each out once (the first getDelivery takes it;
 * later reads go to the database). Bounded in count and in body bytes, oldest out first; what is
 * held is only ever a copy of what was committed, so losing it (a restart, an eviction, another
 * process running the job) costs a read, nothing else.
 */
export class FreshDeliveries {
  private readonly held = new Map<number, { delivery: Delivery; size: number }>();
  private text = 0;

  /** After a commit: the new deliveries of the batch (duplicates are not new; their stored row wins). */
  keep(items: readonly DeliveryToAccept[], accepted: readonly AcceptedDelivery[]): void {
    items.forEach((item, i) => {
      const one = accepted[i];
      // Only a body whose text was stored as given: the text parses to exactly this value.
      if (!one || one.duplicate || item.bodyText === undefined) return;
      const size = item.bodyText.length;
      if (size > MAX_TEXT) return;
      this.held.set(one.id, { delivery: { id: one.id, ...item.delivery }, size });
      this.text += size;
    });
    for (const [id, entry] of this.held) {
      if (this.held.size <= MAX_ENTRIES && this.text <= MAX_TEXT) break;
      this.held.delete(id);
      this.text -= entry.size;
    }
  }

  /** The delivery, once; undefined when it is not held (read it from the database). */
  take(id: number): Delivery | undefined {
    const entry = this.held.get(id);
    if (!entry) return undefined;
    this.held.delete(id);
    this.text -= entry.size;
    return entry.delivery;
  }

  /** Forgets everything (the store closes, or rows are deleted). */
  clear(): void {
    this.held.clear();
    this.text = 0;
  }
}
