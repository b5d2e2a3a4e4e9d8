import type { Job } from '../core/model.js';
import type { AcceptedDelivery, DeliveryToAccept, FinishedJob, Store } from './types.js';

/**
 * The accepting process's job worker, seen from the inbox: jobs it has a free slot for are
 * claimed by their own insert and handed to it after the commit (JobWorker implements this).
 */
export interface IntakeRunner {
  /** A lease taken now (by the runner's clock): its owner, now, and when it runs out. */
  lease(): { owner: string; now: string; expiresAt: string };
  /** Whether it runs jobs of this type. */
  runs(type: string): boolean;
  /** Reserves up to `wanted` free slots until adopt(); how many it reserved (0 when stopped or full). */
  reserve(wanted: number): number;
  /** Runs the jobs claimed at intake, and gives back the rest of the `reserved` slots. */
  adopt(jobs: Job[], reserved: number): void;
}

/** What a caller of DeliveryInbox.accept learns after the commit. */
export interface InboxResult extends AcceptedDelivery {
  /** A pending job was stored for any worker to claim (wake the workers); false for a duplicate, and for a job claimed or done at intake. */
  queued: boolean;
}

/** At most this many deliveries, or this many bytes of bodies, go into one transaction. */
const MAX_BATCH = 256;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

interface Waiting {
  item: DeliveryToAccept;
  resolve: (accepted: InboxResult) => void;
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
 *
 * Claim at intake: with a local runner (this process's job worker) that has free slots, as many
 * of the batch's jobs as it has slots for are inserted already claimed by it, and handed to it
 * once committed — no claim transaction, no read of the delivery. The rest stay pending for any
 * worker of any process. A job claimed at intake is an ordinary running job with a lease: if this
 * process dies, another takes it when the lease runs out, as after any claim.
 */
export class DeliveryInbox {
  private queue: Waiting[] = [];
  private finished: Array<{ done: FinishedJob; resolve: () => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;
  private flushing = false;

  private runner: IntakeRunner | null = null;

  constructor(private readonly store: Pick<Store, 'acceptDeliveries'>) {}

  /** Hands jobs this process can run at once to `runner` (null: every job stays pending). */
  runJobsWith(runner: IntakeRunner | null): void {
    this.runner = runner;
  }

  accept(item: DeliveryToAccept): Promise<InboxResult> {
    return new Promise<InboxResult>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Marks a job done in the next commit, with the deliveries of that turn (the worker's
   * completions: one transaction for both instead of one each). Resolves once committed.
   */
  complete(done: FinishedJob): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.finished.push({ done, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0 || this.finished.length > 0) {
        const batch = this.take();
        const finished = this.finished.splice(0, MAX_BATCH);
        const { items, reserved, runner } = this.claimAtIntake(batch.map((w) => w.item));
        let adopted: Job[] = [];
        try {
          const accepted = await this.store.acceptDeliveries(items, finished.map((f) => f.done));
          for (const f of finished) f.resolve();
          adopted = accepted.flatMap((a) => (a.job ? [a.job] : []));
          batch.forEach((w, i) => {
            const one = accepted[i];
            const item = items[i] as DeliveryToAccept;
            if (one) w.resolve({ ...one, queued: !one.duplicate && !item.job.lease && !item.job.doneAtIntake });
            else w.reject(new Error('the store answered fewer deliveries than it was given'));
          });
        } catch (err) {
          for (const w of batch) w.reject(err);
          // The deliveries may be what failed (a row the store refused): the completions are tried
          // on their own before they fail — a job that ran must not run again for another's fault.
          if (finished.length > 0 && items.length > 0) await this.completeAlone(finished);
          else for (const f of finished) f.reject(err);
        } finally {
          if (reserved > 0) runner?.adopt(adopted, reserved);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async completeAlone(finished: Array<{ done: FinishedJob; resolve: () => void; reject: (err: unknown) => void }>): Promise<void> {
    try {
      await this.store.acceptDeliveries([], finished.map((f) => f.done));
      for (const f of finished) f.resolve();
    } catch (err) {
      for (const f of finished) f.reject(err);
    }
  }

  /** The batch, with as many of its due jobs as the runner has free slots for leased to it. */
  private claimAtIntake(items: DeliveryToAccept[]): { items: DeliveryToAccept[]; reserved: number; runner: IntakeRunner | null } {
    const runner = this.runner;
    if (!runner) return { items, reserved: 0, runner };
    const { owner, now, expiresAt } = runner.lease();
    const eligible = (item: DeliveryToAccept) => !item.job.doneAtIntake && item.job.runAt <= now && runner.runs(item.job.type);
    const wanted = items.filter(eligible).length;
    const reserved = wanted > 0 ? runner.reserve(wanted) : 0;
    if (reserved === 0) return { items, reserved: 0, runner };
    const lease = { owner, expiresAt };
    let left = reserved;
    return {
      items: items.map((item) => {
        if (left === 0 || !eligible(item)) return item;
        left--;
        return { ...item, job: { ...item.job, lease } };
      }),
      reserved,
      runner,
    };
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
export function deliveryInbox(store: Store): Pick<DeliveryInbox, 'accept' | 'complete' | 'runJobsWith'> {
  if (typeof store.acceptDeliveries !== 'function') {
    return {
      accept: async ({ delivery, job }) => {
        const { delivery: stored, duplicate } = await store.acceptDelivery(delivery, job);
        return { id: stored.id, duplicate, queued: !duplicate };
      },
      complete: (done) => store.completeJobs([done]),
      runJobsWith: () => undefined,
    };
  }
  let inbox = inboxes.get(store);
  if (!inbox) {
    inbox = new DeliveryInbox(store);
    inboxes.set(store, inbox);
  }
  return inbox;
}
