import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import type { Job } from '../core/model.js';
import { classifyError } from './classify-error.js';

export type JobHandler = (job: Job) => Promise<void>;

export interface JobWorkerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  handlers: Readonly<Record<string, JobHandler>>;
  /** Jobs run at once by this worker; default 8. A slow script never holds up the rest. */
  concurrency?: number;
  /** How often to look for due jobs when idle; `kick()` looks at once. Default 1 s. */
  pollMs?: number;
  /** How long a claimed job is ours; renewed while it runs. A worker that dies loses it after this. Default 5 minutes. */
  leaseMs?: number;
  /** Backoff before attempt n+1: base * 2^(n-1), capped. Defaults 2 s and 10 minutes. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/**
 * Runs durable jobs from the store: claim (lease) → handler → done, or retry with backoff, or
 * dead after maxAttempts, or at once when the error is permanent (classify-error.ts). Any number
 * of workers, in any number of processes, can share a store.
 */
export class JobWorker {
  readonly owner = `worker-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly active = new Set<Promise<void>>();
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private stopped = true;
  /** True once a claim found nothing due (reset by kick). */
  private drained = false;

  constructor(private readonly options: JobWorkerOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run().catch((err) => this.options.logger.error({ err }, 'job worker stopped'));
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

  private async run(): Promise<void> {
    const { store, clock } = this.options;
    const slots = this.options.concurrency ?? 8;
    while (!this.stopped) {
      while (!this.stopped && this.active.size < slots) {
        const job = await store.claimJob(this.owner, clock.now().toISOString(), this.options.leaseMs ?? 300_000);
        if (!job) {
          this.drained = true;
          break;
        }
        const running: Promise<void> = this.execute(job).finally(() => {
          this.active.delete(running);
          this.wake?.();
        });
        this.active.add(running);
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

  private async execute(job: Job): Promise<void> {
    const { store, clock, logger } = this.options;
    const handler = this.options.handlers[job.type];
    const log = logger.child({ jobId: job.id, jobType: job.type, attempt: job.attempts });
    // Keep the lease while the job runs, so a long job is not taken over by another worker.
    const leaseMs = this.options.leaseMs ?? 300_000;
    const renew = setInterval(() => {
      const until = new Date(clock.now().getTime() + leaseMs).toISOString();
      store.renewJobLease(job.id, this.owner, until).catch((err) => log.warn({ err }, 'could not renew job lease'));
    }, Math.max(50, Math.floor(leaseMs / 3)));
    renew.unref();
    try {
      if (!handler) throw new Error(`no handler for job type "${job.type}"`);
      await handler(job);
      await store.completeJob(job.id, this.owner, clock.now().toISOString());
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A permanent failure (invalid, refused by policy) would fail the same way again: dead at once, with its reason.
      const permanent = classifyError(err) === 'permanent';
      const last = permanent || job.attempts >= job.maxAttempts;
      const delay = Math.min((this.options.retryBaseMs ?? 2000) * 2 ** (job.attempts - 1), this.options.retryMaxMs ?? 600_000);
      const retryAt = last ? null : new Date(clock.now().getTime() + delay).toISOString();
      log.warn({ err, retryAt, permanent }, permanent ? 'job failed permanently: dead letter, not retried' : last ? 'job failed for the last time: dead letter' : 'job failed; will retry');
      await store.failJob(job.id, this.owner, message, clock.now().toISOString(), retryAt);
    } finally {
      clearInterval(renew);
    }
  }
}
