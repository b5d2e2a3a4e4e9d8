import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Job, Store } from '../store/types.js';

export type JobHandler = (job: Job) => Promise<void>;

export interface JobWorkerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  handlers: Readonly<Record<string, JobHandler>>;
  /** How often to look for due jobs when idle; `kick()` looks at once. Default 1 s. */
  pollMs?: number;
  /** How long a claimed job is ours; a worker that dies loses it after this. Default 5 minutes. */
  leaseMs?: number;
  /** Backoff before attempt n+1: base * 2^(n-1), capped. Defaults 2 s and 10 minutes. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/**
 * Runs durable jobs from the store: claim (lease) → handler → done, or retry with backoff, or
 * dead after maxAttempts. Any number of workers, in any number of processes, can share a store.
 */
export class JobWorker {
  readonly owner = `worker-${process.pid}-${randomBytes(3).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(private readonly options: JobWorkerOptions) {}

  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Look for work now (after something was enqueued). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.drain()
      .catch((err) => this.options.logger.error({ err }, 'job worker failed'))
      .finally(() => {
        this.running = null;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
          return;
        }
        this.timer = setTimeout(() => this.kick(), this.options.pollMs ?? 1000);
        this.timer.unref();
      });
  }

  /** Resolves once nothing is due (for tests and for draining before exit). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.idle();
  }

  private async drain(): Promise<void> {
    const { store, clock } = this.options;
    while (!this.stopped) {
      const job = await store.claimJob(this.owner, clock.now().toISOString(), this.options.leaseMs ?? 300_000);
      if (!job) return;
      await this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
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
      const last = job.attempts >= job.maxAttempts;
      const delay = Math.min((this.options.retryBaseMs ?? 2000) * 2 ** (job.attempts - 1), this.options.retryMaxMs ?? 600_000);
      const retryAt = last ? null : new Date(clock.now().getTime() + delay).toISOString();
      log.warn({ err, retryAt }, last ? 'job failed for the last time: dead letter' : 'job failed; will retry');
      await store.failJob(job.id, this.owner, message, clock.now().toISOString(), retryAt);
    } finally {
      clearInterval(renew);
    }
  }
}
