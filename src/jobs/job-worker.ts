import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { FinishedJob, Store } from '../store/types.js';
import type { Job, NewJob } from '../core/model.js';
import { deliveryInbox, type IntakeRunner } from '../store/delivery-inbox.js';
import { classifyError } from './classify-error.js';

/** `signal` aborts when a shutdown's grace period runs out: stop, the job is handed back to another process. */
export type JobHandler = (job: Job, signal?: AbortSignal) => Promise<void>;

/** How long a claimed job is a worker's without renewal, unless DECKHAND_JOB_LEASE says otherwise. */
export const DEFAULT_JOB_LEASE_MS = 30_000;

/** With a backlog, how long a claim for few slots waits for more running jobs to finish first. */
const BATCH_WAIT_MS = 2;

/**
 * Jobs claimed at intake may wait for a slot in memory, up to this many times the slots: a burst
 * of webhooks is claimed by its own inserts instead of by claims later. Their leases are renewed
 * while they wait; a process that dies loses them as it loses its running jobs — another process
 * takes them when their lease runs out, with the attempt counted — so the line is kept short.
 */
const INTAKE_QUEUE_FACTOR = 1;

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
  /**
   * Marks a finished job done; resolves once committed. Default: the store's delivery inbox, so the
   * completions of one turn share one commit with the deliveries arriving in it.
   */
  complete?: (done: FinishedJob) => Promise<void>;
}

/**
 * Runs durable jobs from the store: claim (lease) → handler → done, or retry with backoff, or
 * dead after maxAttempts, or at once when the error is permanent (classify-error.ts). Any number
 * of workers, in any number of processes, can share a store.
 */
export class JobWorker implements IntakeRunner {
  readonly owner: string;
  private readonly slots: number;
  /** Slots promised to the delivery inbox for jobs claimed at intake, until it hands them over (adopt). */
  private reserved = 0;
  /** Jobs claimed at intake waiting for a slot (at most `slots * INTAKE_QUEUE_FACTOR`), oldest first. */
  private readonly waiting: Job[] = [];
  private readonly active = new Set<Promise<void>>();
  /** The running jobs by id: their abort controller (a shutdown whose grace ran out, a lease lost) and whether their handler returned. */
  private readonly running = new Map<number, { controller: AbortController; handled: boolean; lost: boolean }>();
  /** Renews the leases of the running and waiting jobs, while there are any (see keepLeases). */
  private renewal: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private readonly complete: (done: FinishedJob) => Promise<void>;
  private wake: (() => void) | null = null;
  private stopped = true;
  /** True once a claim found nothing due (reset by kick). */
  private drained = false;

  constructor(private readonly options: JobWorkerOptions) {
    this.owner = options.owner ?? `worker-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.slots = options.concurrency ?? 8;
    this.complete = options.complete ?? ((done) => deliveryInbox(options.store).complete(done));
  }

  // --- Claim at intake (IntakeRunner): the delivery inbox inserts jobs already leased to this
  // worker, as many as it has free slots for, and hands them over once committed.

  lease(): { owner: string; now: string; expiresAt: string } {
    const now = this.options.clock.now();
    return { owner: this.owner, now: now.toISOString(), expiresAt: new Date(now.getTime() + (this.options.leaseMs ?? DEFAULT_JOB_LEASE_MS)).toISOString() };
  }

  runs(type: string): boolean {
    return Object.hasOwn(this.options.handlers, type);
  }

  reserve(wanted: number): number {
    if (this.stopped) return 0;
    const free = Math.max(0, this.slots * (1 + INTAKE_QUEUE_FACTOR) - this.active.size - this.waiting.length - this.reserved);
    const granted = Math.min(wanted, free);
    this.reserved += granted;
    return granted;
  }

  adopt(jobs: Job[], reserved: number): void {
    this.reserved = Math.max(0, this.reserved - reserved);
    // Stopped meanwhile (a shutdown): the jobs keep their lease, and are handed back with the rest.
    if (this.stopped) return;
    this.waiting.push(...jobs);
    this.runWaiting();
  }

  /**
   * Enqueues a job: when it is due, of a type this worker runs, and a slot (or a place in the
   * waiting line) is free, created already claimed by this worker and run from memory — no claim
   * transaction; otherwise pending, and the workers are woken. Resolves the job, or null when its
   * key existed.
   */
  async enqueue(job: NewJob): Promise<Job | null> {
    const lease = this.lease();
    const reserved = job.runAt <= lease.now && this.runs(job.type) ? this.reserve(1) : 0;
    let stored: Job | null = null;
    try {
      stored = await this.options.store.enqueueJob(job, reserved > 0 ? { owner: lease.owner, expiresAt: lease.expiresAt } : undefined);
    } finally {
      this.adopt(stored && reserved > 0 ? [stored] : [], reserved);
    }
    if (stored && reserved === 0) this.kick();
    return stored;
  }

  /** Forgets the jobs claimed at intake that never started: their leases stay, for Store.stopInstance to hand back. */
  private dropWaiting(): void {
    this.waiting.splice(0);
    this.keepLeases();
  }

  /** Starts waiting jobs in the free slots. */
  private runWaiting(): void {
    while (!this.stopped && this.active.size < this.slots && this.waiting.length > 0) this.launch(this.waiting.shift() as Job);
    this.keepLeases();
  }

  /**
   * One timer renews the lease of every job this worker holds, running or waiting, every third of
   * the lease, while it holds any. A renewal refused means another process holds the lease now
   * (this one was cut off from the store for longer than the lease, and the job was taken over): a
   * waiting job is dropped, a running one is stopped (its signal aborted, as a shutdown does) and
   * neither completed nor failed here.
   */
  private keepLeases(): void {
    const holding = this.running.size + this.waiting.length > 0;
    if (holding && !this.renewal) {
      const leaseMs = this.options.leaseMs ?? DEFAULT_JOB_LEASE_MS;
      this.renewal = setInterval(() => this.renewLeases(leaseMs), Math.max(50, Math.floor(leaseMs / 3)));
      this.renewal.unref();
    } else if (!holding && this.renewal) {
      clearInterval(this.renewal);
      this.renewal = null;
    }
  }

  private renewLeases(leaseMs: number): void {
    const { store, clock, logger } = this.options;
    const until = new Date(clock.now().getTime() + leaseMs).toISOString();
    const renew = (jobId: number, lost: () => void) =>
      store.renewJobLease(jobId, this.owner, until).then(
        (held) => held || lost(),
        (err: unknown) => logger.warn({ err, jobId }, 'could not renew job lease'),
      );
    for (const job of this.waiting) {
      void renew(job.id, () => {
        const at = this.waiting.indexOf(job);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        logger.warn({ jobId: job.id }, 'a job waiting for a slot lost its lease to another process; it is not run here');
        this.keepLeases();
      });
    }
    for (const [jobId, run] of this.running) {
      void renew(jobId, () => {
        // Once the handler returned, a refused renewal only means the job was marked done.
        if (run.handled || run.controller.signal.aborted) return;
        run.lost = true;
        logger.warn({ jobId }, 'the job lost its lease to another process, which runs it now: stopped here');
        run.controller.abort();
      });
    }
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
    while (!this.stopped && (this.active.size > 0 || this.waiting.length > 0 || !this.drained)) {
      this.wake?.();
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.allSettled([...this.active]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.dropWaiting();
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.active]);
  }

  /**
   * A graceful stop: claims nothing more; running jobs get `graceMs` to finish. Those still running
   * then are aborted and left with their lease, for the caller to hand back (Store.stopInstance)
   * so another process takes them at once. Resolves how many running jobs were left; jobs claimed
   * at intake that never started are not run, and are handed back the same way.
   */
  async shutdown(graceMs: number): Promise<number> {
    this.stopped = true;
    // Jobs claimed at intake that never started keep their lease: Store.stopInstance hands them back with the rest.
    this.dropWaiting();
    this.wake?.();
    await this.loop;
    const finished = await Promise.race([Promise.allSettled([...this.active]).then(() => true), new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (finished) return 0;
    const left = this.active.size;
    for (const { controller } of this.running.values()) controller.abort();
    // A handler that ignores the signal is not waited for long: its job is handed back all the same.
    await Promise.race([Promise.allSettled([...this.active]), new Promise((r) => setTimeout(r, ABANDON_WAIT_MS).unref())]);
    return left;
  }

  private async run(): Promise<void> {
    const { store, clock } = this.options;
    const slots = this.slots;
    // Whether the last claim got all it asked for: more jobs are waiting. Then a claim for fewer
    // than half the slots first waits a moment (BATCH_WAIT_MS) for more running jobs to finish, so
    // that each claim (a write transaction: its commit, five index updates) takes several jobs
    // instead of one per finished job. Without a backlog every free slot is filled at once, and a
    // slot held by a long job never keeps the others waiting longer than that moment.
    let backlog = false;
    while (!this.stopped) {
      while (!this.stopped && this.waiting.length === 0 && this.active.size + this.reserved < slots) {
        if (backlog && this.active.size > 0 && slots - this.active.size - this.reserved < Math.ceil(slots / 2)) await new Promise((resolve) => setTimeout(resolve, this.options.batchWaitMs ?? BATCH_WAIT_MS));
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
          const wanted = slots - this.active.size - this.reserved;
          if (wanted < 1) break;
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
        for (const job of jobs) this.launch(job);
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

  /** Runs a job this worker holds the lease of, in one of its slots. */
  private launch(job: Job): void {
    const running: Promise<void> = this.execute(job).finally(() => {
      this.active.delete(running);
      // A freed slot goes to a job claimed at intake first. It is worth a claim only while jobs
      // may be pending: after a claim found none, only a kick (a job enqueued, another process's
      // notification) or the poll looks again.
      if (this.waiting.length > 0) this.runWaiting();
      else if (!this.drained) this.wake?.();
    });
    this.active.add(running);
  }

  private async execute(job: Job): Promise<void> {
    const { store, clock, logger } = this.options;
    const handler = this.options.handlers[job.type];
    // Made when first needed: most jobs log nothing here, and a child logger is not free.
    let child: Logger | null = null;
    const log = (): Logger => (child ??= logger.child({ jobId: job.id, jobType: job.type, attempt: job.attempts }));
    // Its lease is kept while it runs (keepLeases), so a long job is not taken over by another worker.
    const run = { controller: new AbortController(), handled: false, lost: false };
    this.running.set(job.id, run);
    this.keepLeases();
    try {
      if (!handler) throw new Error(`no handler for job type "${job.type}"`);
      await handler(job, run.controller.signal);
      run.handled = true;
      await this.complete({ id: job.id, owner: this.owner, now: clock.now().toISOString() });
    } catch (err) {
      // Stopped by a shutdown (or its lease lost), not failed: the lease stays for stopInstance to
      // hand back, and the attempt is not held against the job beyond the one claim counted.
      if (run.controller.signal.aborted) {
        if (!run.lost) log().info({ err }, 'job stopped by shutdown; it is handed back to another process');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      // A permanent failure (invalid, refused by policy) would fail the same way again: dead at once, with its reason.
      const permanent = classifyError(err) === 'permanent';
      const last = permanent || job.attempts >= job.maxAttempts;
      const delay = Math.min((this.options.retryBaseMs ?? 2000) * 2 ** (job.attempts - 1), this.options.retryMaxMs ?? 600_000);
      const retryAt = last ? null : new Date(clock.now().getTime() + delay).toISOString();
      log().warn({ err, retryAt, permanent }, permanent ? 'job failed permanently: dead letter, not retried' : last ? 'job failed for the last time: dead letter' : 'job failed; will retry');
      try {
        await store.failJob(job.id, this.owner, message, clock.now().toISOString(), retryAt);
      } catch (recordErr) {
        // The store is away too (the usual reason a job's end cannot be recorded): the job keeps its
        // lease, which is no longer renewed, and runs again once it runs out. Thrown on, this would
        // be an unhandled rejection that ends the process.
        log().warn({ err: recordErr }, 'could not record that the job failed; it runs again when its lease runs out');
        return;
      }
      this.options.onFailed?.(job.type, last ? 'dead' : 'retry', permanent);
    } finally {
      this.running.delete(job.id);
      this.keepLeases();
    }
  }
}
