import type { AcceptedDelivery, DeliveryToAccept, Store } from './types.js';

/** At most this many deliveries, or this many bytes of bodies, go into one transaction. */
const MAX_BATCH = 256;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

interface Waiting {
  item: DeliveryToAccept;
  resolve: (accepted: AcceptedDelivery) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for webhook deliveries. Every delivery handed in during one turn of the event loop
 * waits until the end of that turn (setImmediate), and then all of them are stored together by
 * Store.acceptDeliveries: one transaction, one commit, instead of one per request. Deliveries that
 * arrive while a commit is in flight (PostgreSQL: a round trip) form the next batch. Each caller's
 * promise settles only after the commit: with its own row id and duplicate flag, or — when the
 * transaction failed — with the batch's error (E_STORE_UNAVAILABLE for a store that is away, a
 * 503), so no request is ever answered 2xx for a delivery that was not stored.
 */
export class DeliveryInbox {
  private queue: Waiting[] = [];
  private scheduled = false;
  private flushing = false;

  constructor(private readonly store: Pick<Store, 'acceptDeliveries'>) {}

  accept(item: DeliveryToAccept): Promise<AcceptedDelivery> {
    return new Promise<AcceptedDelivery>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled && !this.flushing) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          void this.flush();
        });
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        try {
          const accepted = await this.store.acceptDeliveries(batch.map((w) => w.item));
          batch.forEach((w, i) => {
            const one = accepted[i];
            if (one) w.resolve(one);
            else w.reject(new Error('the store answered fewer deliveries than it was given'));
          });
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The next batch from the front of the queue, within MAX_BATCH and MAX_BATCH_BYTES (at least one). */
  private take(): Waiting[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < MAX_BATCH) {
      const item = (this.queue[n] as Waiting).item;
      bytes += item.bodyText?.length ?? 0;
      if (n > 0 && bytes > MAX_BATCH_BYTES) break;
      n++;
    }
    return this.queue.splice(0, n);
  }
}

const inboxes = new WeakMap<object, DeliveryInbox>();

/**
 * The store's one DeliveryInbox (made on first use), so every route of the process shares the
 * batches. A store without acceptDeliveries (a test double) gets a stand-in that stores each
 * delivery on its own with acceptDelivery.
 */
export function deliveryInbox(store: Store): Pick<DeliveryInbox, 'accept'> {
  if (typeof store.acceptDeliveries !== 'function') {
    return { accept: async ({ delivery, job }) => {
      const { delivery: stored, duplicate } = await store.acceptDelivery(delivery, job);
      return { id: stored.id, duplicate };
    } };
  }
  let inbox = inboxes.get(store);
  if (!inbox) {
    inbox = new DeliveryInbox(store);
    inboxes.set(store, inbox);
  }
  return inbox;
}
