import type { Logger } from '../../src/core/logger.js';

export interface QueuedOp {
  /** Ops with the same key that have not started yet are merged: only the newest runs. */
  key?: string;
  run: () => Promise<void>;
}

export interface ChannelQueueOptions {
  logger: Logger;
  /** Pause after each op in one channel; Slack allows about one message a second per channel. */
  intervalMs?: number;
  /** Attempts for one op before it is given up (and logged). */
  maxAttempts?: number;
  /** How long to wait for a failure other than a rate limit, before trying again. */
  retryDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface Pending extends QueuedOp {
  done: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

/** The Retry-After of a rate-limited Slack Web API call (seconds), as @slack/web-api reports it. */
export function retryAfterMs(err: unknown): number | null {
  const e = err as { code?: string; retryAfter?: number } | null;
  return e?.code === 'slack_webapi_rate_limited_error' && typeof e.retryAfter === 'number' ? e.retryAfter * 1000 : null;
}

/**
 * One ordered queue per channel. Ops run one at a time with a pause between them, a 429 waits
 * for its Retry-After and tries the same op again, and a burst of edits to one message collapses
 * into the newest — so nothing is lost, order holds, and the channel is not flooded.
 */
export class ChannelQueue {
  private readonly queues = new Map<string, Pending[]>();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly intervalMs: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ChannelQueueOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 2000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Resolves when the op (or the newer op it was merged into) has run; rejects if it gave up. */
  enqueue(channel: string, op: QueuedOp): Promise<void> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(channel) ?? [];
      this.queues.set(channel, queue);
      const same = op.key === undefined ? undefined : queue.find((p) => p.key === op.key);
      if (same) {
        same.run = op.run;
        same.done.push({ resolve, reject });
      } else {
        queue.push({ ...op, done: [{ resolve, reject }] });
      }
      if (!this.workers.has(channel)) this.workers.set(channel, this.work(channel));
    });
  }

  /** Resolves when every queue is empty. */
  async drain(): Promise<void> {
    while (this.workers.size > 0) await Promise.allSettled([...this.workers.values()]);
  }

  private async work(channel: string): Promise<void> {
    const queue = this.queues.get(channel) ?? [];
    try {
      while (queue.length > 0) {
        const op = queue.shift() as Pending;
        const error = await this.attempt(channel, op);
        for (const waiter of op.done) {
          if (error === null) waiter.resolve();
          else waiter.reject(error);
        }
        if (queue.length > 0) await this.sleep(this.intervalMs);
      }
    } finally {
      // No await between the last emptiness check and this cleanup: an op enqueued after it
      // finds no worker and starts a new one.
      this.queues.delete(channel);
      this.workers.delete(channel);
    }
  }

  /** Runs one op with retries; resolves with the last error, or null when it succeeded. */
  private async attempt(channel: string, op: Pending): Promise<unknown> {
    let error: unknown = null;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        await op.run();
        return null;
      } catch (err) {
        error = err;
        const wait = retryAfterMs(err);
        this.options.logger.warn({ err, channel, key: op.key, attempt, retryAfterMs: wait }, 'slack call failed');
        if (attempt < this.maxAttempts) await this.sleep(wait ?? this.retryDelayMs * attempt);
      }
    }
    return error;
  }
}
