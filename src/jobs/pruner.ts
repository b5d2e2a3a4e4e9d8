import { setTimeout as sleep } from 'node:timers/promises';
import type { Retention } from '../config/retention.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { pruneKinds, type PruneKind, type Store } from '../store/types.js';

export interface PrunerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** DECKHAND_RETENTION: how long each kind is kept (null: forever). */
  retention: Retention;
  /** Between two runs; default 5 minutes. */
  intervalMs?: number;
  /** The first run, this long after start; default 30 s (start-up has enough to do). */
  firstDelayMs?: number;
  /** Rows deleted per statement; default 500. */
  batchSize?: number;
  /** Pause between two batches, so requests and the job worker get the store (and, on SQLite, the event loop); default 50 ms. */
  pauseMs?: number;
}

export type PruneSummary = Record<PruneKind, number>;

/**
 * Retention: deletes stored history older than DECKHAND_RETENTION, kind by kind, in small batches
 * (Store.prune) with a pause between them, so no statement holds the store — or, with SQLite, the
 * event loop and so the HTTP listener — for long. Every process runs one; no coordination is
 * needed: a delete is idempotent, and two processes deleting the same rows just find fewer.
 */
export class Pruner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly pauseMs: number;

  constructor(private readonly options: PrunerOptions) {
    this.intervalMs = options.intervalMs ?? 5 * 60_000;
    this.batchSize = Math.max(1, options.batchSize ?? 500);
    this.pauseMs = Math.max(0, options.pauseMs ?? 50);
  }

  /** Runs once `firstDelayMs` after now, then every `intervalMs` after the previous run ended. */
  start(): void {
    if (this.stopped || this.timer) return;
    if (pruneKinds.every((kind) => this.options.retention[kind] === null)) return; // everything is kept forever
    this.schedule(this.options.firstDelayMs ?? 30_000);
  }

  /** Stops the runs; a run under way stops after its current batch. Resolves when it has. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running.catch(() => undefined);
  }

  /** One pass over every kind with a retention; resolves how many rows of each kind went. */
  async runOnce(): Promise<PruneSummary> {
    const run = this.pass();
    this.running = run;
    return run;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce()
        .catch((err) => this.options.logger.warn({ err }, 'retention: pruning failed; trying again at the next run'))
        .finally(() => {
          if (!this.stopped) this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<PruneSummary> {
    const { store, clock, logger, retention } = this.options;
    const summary = Object.fromEntries(pruneKinds.map((kind) => [kind, 0])) as PruneSummary;
    const started = clock.now().getTime();
    for (const kind of pruneKinds) {
      const keepMs = retention[kind];
      if (keepMs === null || this.stopped) continue;
      const before = new Date(clock.now().getTime() - keepMs).toISOString();
      // A delivery carries its whole body (a GitHub one up to 25 MB): a fifth of the batch each time.
      const limit = kind === 'deliveries' ? Math.max(1, Math.floor(this.batchSize / 5)) : this.batchSize;
      try {
        for (;;) {
          const deleted = await store.prune(kind, before, limit);
          summary[kind] += deleted;
          if (deleted < limit || this.stopped) break;
          await sleep(this.pauseMs, undefined, { ref: false });
        }
      } catch (err) {
        // One kind failing (a busy store, a lost connection) does not keep the others from going.
        logger.warn({ err, kind }, 'retention: pruning failed; trying again at the next run');
      }
    }
    const total = pruneKinds.reduce((sum, kind) => sum + summary[kind], 0);
    const ms = clock.now().getTime() - started;
    if (total > 0) logger.info({ deleted: summary, ms }, `retention: deleted ${total} old rows`);
    else logger.debug({ ms }, 'retention: nothing old enough to delete');
    return summary;
  }
}
