import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import type { Job } from '../core/model.js';
import { classifyError } from './classify-error.js';

/** `signal` aborts when a shutdown's grace period runs out: stop, the job is handed back to another process. */
export type JobHandler = (job: Job, signal?: AbortSignal) => Promise<void>;

/** How long a claimed job is a worker's without renewal, unless DECKHAND_JOB_LEASE says otherwise. */
export const DEFAULT_JOB_LEASE_MS = 30_000;

/** With a backlog, how long a claim for few slots waits for more running jobs to finish first. */
const BATCH_WAIT_MS = 2;

/** After a shutdown aborts the jobs still running: how long they may take to stop (a script gets SIGTERM, then SIGKILL after 5 s). */
const ABANDON_WAIT_MS = 15_000;

export interface JobWorkerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  handlers: Readonly<Record<string, JobHandler>>;
  /** Jobs run at once by this worker; default 8. A slow script never holds up the rest. */
  concurrency?: number;
  /** How often to look for due jobs when idle; `kick()` looks at once. Default 1 s. */
  pollMs?: number;
  /** How long a claimed job is ours; renewed every third of it while it runs. A worker that dies loses it after this. Default 30 s. */
  leaseMs?: number;
  /** Who holds the leases: this process's instance id, so stopping the instance hands its jobs back. Default a random worker id. */
  owner?: string;
  /** Backoff before attempt n+1: base * 2^(n-1), capped. Defaults 2 s and 10 minutes. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Told of every failed attempt: retried later, or dead (permanent: at once, without retries). For metrics. */
  onFailed?: (type: string, outcome: 'retry' | 'dead', permanent: boolean) => void;
  /**
   * Asked before each claim: a promise to wait for first, or null to claim at once. The app passes
   * the HTTP listener's (ListenerPressure.quiet): while webhooks are arriving faster than they are
   * answered, they go first and the jobs they leave run in the gaps — accepting (durably) is what
   * a sender waits for, running is not.
   */
  yieldTo?: () => Promise<void> | null;
  /** With a backlog, how long a claim for fewer than half the slots waits for more jobs to finish first; default 2 ms. */
  batchWaitMs?: number;
}

/**
 * Runs durable jobs from the store: claim (lease) → handler → done, or retry with backoff, or
 * dead after maxAttempts, or at once when the error is permanent (classify-error.ts). Any number
 * of workers, in any number of processes, can share a store.
 */
export class JobWorker {
  readonly owner: string;
  private readonly active = new Set<Promise<void>>();
  /** The running jobs' abort controllers, for a shutdown whose grace period ran out. */
  private readonly controllers = new Set<AbortController>();
  private loop: Promise<void> | null = null;
  /** Jobs finished in this turn, waiting to be marked done together (see complete). */
  private completions: Array<{ id: number; owner: string; now: string; resolve: () => void; reject: (err: unknown) => void }> = [];
  private wake: (() => void) | null = null;
  private stopped = true;
  /** True once a claim found nothing due (reset by kick). */
  private drained = false;

  constructor(private readonly options: JobWorkerOptions) {
    this.owner = options.owner ?? `worker-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    // A job enqueued by any process wakes this worker at once (PostgreSQL: LISTEN/NOTIFY), for as long as the loop runs; polling stays the fallback.
    const unlisten = this.options.store.onJobsAvailable?.(() => this.kick());
    this.loop = this.run()
      .catch((err) => this.options.logger.error({ err }, 'job worker stopped'))
      .finally(() => unlisten?.());
  }

  /** Look for work now (after something was enqueued). */
  kick(): void {
    this.drained = false;
    this.wake?.();
  }

  /** Resolves once nothing is running and nothing is due (tests, and draining before exit). */
  async idle(): Promise<void> {
    while (!this.stopped && (this.active.size > 0 || !this.drained)) {
      this.wake?.();
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.allSettled([...this.active]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.active]);
  }

  /**
   * A graceful stop: claims nothing more; running jobs get `graceMs` to finish. Those still running
   * then are aborted and left with their lease, for the caller to hand back (Store.stopInstance)
   * so another process takes them at once. Resolves how many were left.
   */
  async shutdown(graceMs: number): Promise<number> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    const finished = await Promise.race([Promise.allSettled([...this.active]).then(() => true), new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (finished) return 0;
    const left = this.active.size;
    for (const controller of this.controllers) controller.abort();
    // A handler that ignores the signal is not waited for long: its job is handed back all the same.
    await Promise.race([Promise.allSettled([...this.active]), new Promise((r) => setTimeout(r, ABANDON_WAIT_MS).unref())]);
    return left;
  }

  private async run(): Promise<void> {
    const { store, clock } = this.options;
    const slots = this.options.concurrency ?? 8;
    // Whether the last claim got all it asked for: more jobs are waiting. Then a claim for fewer
    // than half the slots first waits a moment (BATCH_WAIT_MS) for more running jobs to finish, so
    // that each claim (a write transaction: its commit, five index updates) takes several jobs
    // instead of one per finished job. Without a backlog every free slot is filled at once, and a
    // slot held by a long job never keeps the others waiting longer than that moment.
    let backlog = false;
    while (!this.stopped) {
      while (!this.stopped && this.active.size < slots) {
        if (backlog && this.active.size > 0 && slots - this.active.size < Math.ceil(slots / 2)) await new Promise((resolve) => setTimeout(resolve, this.options.batchWaitMs ?? BATCH_WAIT_MS));
        // One claim per turn of the event loop: requests waiting on the listener go first, so a
        // deep queue of jobs never starves the HTTP side (with SQLite a claim does not yield by itself),
        // and at most `concurrency` jobs run at once.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const pressure = this.stopped ? null : this.options.yieldTo?.();
        if (pressure) await pressure;
        if (this.stopped) break;
        let jobs: Job[];
        try {
          // As many as there are free slots, in one transaction (one commit instead of one per job).
          const wanted = slots - this.active.size;
          jobs = await store.claimJobs(this.owner, clock.now().toISOString(), this.options.leaseMs ?? DEFAULT_JOB_LEASE_MS, wanted);
          backlog = jobs.length === wanted;
        } catch (err) {
          // The store is away (a database restart, a network blip): try again at the next poll
          // instead of ending the loop for good.
          this.options.logger.warn({ err }, 'could not claim a job; trying again shortly');
          break;
        }
        if (jobs.length === 0) {
          this.drained = true;
          break;
        }
        for (const job of jobs) {
          const running: Promise<void> = this.execute(job).finally(() => {
            this.active.delete(running);
            this.wake?.();
          });
          this.active.add(running);
        }
      }
      // Sleep until a job finishes, someone kicks, or the poll interval passes.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs ?? 1000);
        timer.unref();
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /**
   * Marks a job done together with the others that finish in the same turn of the event loop: one
   * transaction (one commit) for all of them. Resolves once it committed; a failed commit rejects
   * for each, and each job is then handled as failed (see execute).
   */
  private complete(id: number, now: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.completions.push({ id, owner: this.owner, now, resolve, reject });
      if (this.completions.length > 1) return;
      setImmediate(() => {
        const batch = this.completions.splice(0);
        this.options.store.completeJobs(batch.map(({ id: jobId, owner, now: at }) => ({ id: jobId, owner, now: at }))).then(
          () => batch.forEach((c) => c.resolve()),
          (err: unknown) => batch.forEach((c) => c.reject(err)),
        );
      });
    });
  }

  private async execute(job: Job): Promise<void> {
    const { store, clock, logger } = this.options;
    const handler = this.options.handlers[job.type];
    const log = logger.child({ jobId: job.id, jobType: job.type, attempt: job.attempts });
    // Keep the lease while the job runs, so a long job is not taken over by another worker.
    const leaseMs = this.options.leaseMs ?? DEFAULT_JOB_LEASE_MS;
    const renew = setInterval(() => {
      const until = new Date(clock.now().getTime() + leaseMs).toISOString();
      store.renewJobLease(job.id, this.owner, until).catch((err) => log.warn({ err }, 'could not renew job lease'));
    }, Math.max(50, Math.floor(leaseMs / 3)));
    renew.unref();
    const controller = new AbortController();
    this.controllers.add(controller);
    try {
      if (!handler) throw new Error(`no handler for job type "${job.type}"`);
      await handler(job, controller.signal);
      await this.complete(job.id, clock.now().toISOString());
    } catch (err) {
      // Stopped by a shutdown, not failed: the lease stays for stopInstance to hand back, and the
      // attempt is not held against the job beyond the one claim counted.
      if (controller.signal.aborted) {
        log.info({ err }, 'job stopped by shutdown; it is handed back to another process');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      // A permanent failure (invalid, refused by policy) would fail the same way again: dead at once, with its reason.
      const permanent = classifyError(err) === 'permanent';
      const last = permanent || job.attempts >= job.maxAttempts;
      const delay = Math.min((this.options.retryBaseMs ?? 2000) * 2 ** (job.attempts - 1), this.options.retryMaxMs ?? 600_000);
      const retryAt = last ? null : new Date(clock.now().getTime() + delay).toISOString();
      log.warn({ err, retryAt, permanent }, permanent ? 'job failed permanently: dead letter, not retried' : last ? 'job failed for the last time: dead letter' : 'job failed; will retry');
      try {
        await store.failJob(job.id, this.owner, message, clock.now().toISOString(), retryAt);
      } catch (recordErr) {
        // The store is away too (the usual reason a job's end cannot be recorded): the job keeps its
        // lease, which is no longer renewed, and runs again once it runs out. Thrown on, this would
        // be an unhandled rejection that ends the process.
        log.warn({ err: recordErr }, 'could not record that the job failed; it runs again when its lease runs out');
        return;
      }
      this.options.onFailed?.(job.type, last ? 'dead' : 'retry', permanent);
    } finally {
      clearInterval(renew);
      this.controllers.delete(controller);
    }
  }
}
