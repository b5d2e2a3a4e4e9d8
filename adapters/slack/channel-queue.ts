import type { Logger } from '../../src/core/logger.js';

/**
 * What an op is, which decides when it runs:
 *  - reply: the answer to a person who just asked; goes before everything still waiting.
 *  - notice: live messages, their edits, threaded output, messages reactions post.
 *  - reaction: an emoji. Not a message: Slack rate-limits reactions.add in its own tier, apart from
 *    the ~1 message/second/channel of posting, so emoji get a lane of their own that never holds
 *    up a message (and a slow or rate-limited emoji never delays a reply).
 */
export type OpPriority = 'reply' | 'notice' | 'reaction';

export interface QueuedOp {
  /** Ops with the same key that have not started yet are merged: only the newest runs. */
  key?: string;
  /** Default 'notice'. */
  priority?: OpPriority;
  run: () => Promise<void>;
}

export interface ChannelQueueOptions {
  logger: Logger;
  /** Pause after each op in one lane of a channel; Slack allows about one message a second per channel. */
  intervalMs?: number;
  /**
   * With `reserveSlot`: how many messages may go into a channel at once before the interval paces
   * them (the generic cell rate algorithm: no window of length W holds more than burst + W/interval
   * slots). Default 1: strictly one per interval. Local pacing (no store, or the store away) and the
   * emoji lane stay strict whatever this says.
   */
  burst?: number;
  /** Attempts for one op before it is given up (and logged). */
  maxAttempts?: number;
  /** How long to wait for a failure other than a rate limit, before trying again. */
  retryDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Reserves the channel's next send slot for every process sharing the store (Store.reserveChatSlot
   * bound to the adapter) and resolves it (ISO time). With it, each message-lane op — a retry too —
   * first takes a slot and waits for it, so N replicas together still send one message per
   * interval into a channel (after a burst of up to `burst`). Without it, or while it fails, the
   * lane paces on its own.
   */
  reserveSlot?: (channel: string, now: string, intervalMs: number, burst: number) => Promise<string>;
  /** A reservation slower than this counts as failed (the op is paced locally). Default 2 s. */
  reserveTimeoutMs?: number;
  /**
   * How late after its slot an op may still start (a busy event loop wakes late); later, it takes a
   * fresh slot instead, so no window of length W holds more than burst + (W + this) / interval
   * sends (burst 1: two sends are never closer than the interval minus this). Default a quarter of
   * the interval.
   */
  lateToleranceMs?: number;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

interface Pending {
  key: string | undefined;
  rank: number;
  run: () => Promise<void>;
  done: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

/** Lower runs first. */
const rankOf: Record<OpPriority, number> = { reply: 0, notice: 1, reaction: 2 };

/** The Retry-After of a rate-limited Slack Web API call (seconds), as @slack/web-api reports it. */
export function retryAfterMs(err: unknown): number | null {
  const e = err as { code?: string; retryAfter?: number } | null;
  return e?.code === 'slack_webapi_rate_limited_error' && typeof e.retryAfter === 'number' ? e.retryAfter * 1000 : null;
}

/**
 * Per channel, two lanes: messages (replies before notices) and emoji. Each lane runs one op at a
 * time with a pause between ops; among ops of one priority the order they were queued in holds.
 * A 429 waits for its Retry-After and tries the same op again, and a burst of edits to one message
 * collapses into the newest, which keeps the place of the first — so nothing is lost, nothing
 * jumps its own kind, and the channel is not flooded. With `reserveSlot`, the pause of the message
 * lane is shared by every process on the store: each send waits for a slot of its own, the first
 * `burst` into a quiet channel at once (docs/decisions/013-chat-pacing-and-slack-with-replicas.md).
 */
export class ChannelQueue {
  /** Waiting ops by lane ("messages C123", "reactions C123"). */
  private readonly queues = new Map<string, Pending[]>();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  /** True while shared pacing fails: the failure is logged once, not for every message. */
  private pacingDown = false;

  constructor(private readonly options: ChannelQueueOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.burst = options.burst ?? 1;
    if (!Number.isInteger(this.burst) || this.burst < 1) throw new RangeError(`ChannelQueue: burst must be a whole number of at least 1, got ${this.burst}`);
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 2000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  /** Resolves when the op (or the newer op it was merged into) has run; rejects if it gave up. */
  enqueue(channel: string, op: QueuedOp): Promise<void> {
    return new Promise((resolve, reject) => {
      const priority = op.priority ?? 'notice';
      const lane = `${priority === 'reaction' ? 'reactions' : 'messages'} ${channel}`;
      const queue = this.queues.get(lane) ?? [];
      this.queues.set(lane, queue);
      const same = op.key === undefined ? undefined : queue.find((p) => p.key === op.key);
      if (same) {
        same.run = op.run;
        same.rank = Math.min(same.rank, rankOf[priority]);
        same.done.push({ resolve, reject });
      } else {
        queue.push({ key: op.key, rank: rankOf[priority], run: op.run, done: [{ resolve, reject }] });
      }
      if (!this.workers.has(lane)) this.workers.set(lane, this.work(lane, channel));
    });
  }

  /** Resolves when every queue is empty. */
  async drain(): Promise<void> {
    while (this.workers.size > 0) await Promise.allSettled([...this.workers.values()]);
  }

  private async work(lane: string, channel: string): Promise<void> {
    const queue = this.queues.get(lane) ?? [];
    // Messages are paced across processes when the store can; emoji (their own rate-limit tier) locally.
    const shared = this.options.reserveSlot !== undefined && lane.startsWith('messages ');
    // A retry takes a slot of its own too; paced locally, the retry delay is its pause.
    const beforeRetry = shared ? async () => void (await this.waitForSlot(channel)) : async () => {};
    let first = true;
    try {
      while (queue.length > 0) {
        // Taken first, then its slot: the op counts as on its way (as one in flight, it no longer
        // merges and a reply does not pass it). Locally (or when the store fails): a pause between ops.
        const op = takeNext(queue);
        const slotted = shared && (await this.waitForSlot(channel));
        if (!slotted && !first) await this.sleep(this.intervalMs);
        first = false;
        const error = await this.attempt(channel, op, beforeRetry);
        for (const waiter of op.done) {
          if (error === null) waiter.resolve();
          else waiter.reject(error);
        }
      }
    } finally {
      // No await between the last emptiness check and this cleanup: an op enqueued after it
      // finds no worker and starts a new one.
      this.queues.delete(lane);
      this.workers.delete(lane);
    }
  }

  /** Runs one op with retries (each paced again); resolves with the last error, or null when it succeeded. */
  private async attempt(channel: string, op: Pending, beforeRetry: () => Promise<void>): Promise<unknown> {
    let error: unknown = null;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        if (attempt > 1) await beforeRetry();
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

  /**
   * Takes the channel's next slot in the store and waits for it; false when the store did not
   * answer in time (or failed): the caller then paces locally. Nothing is lost either way — the
   * op runs, at worst a little early.
   */
  private async waitForSlot(channel: string): Promise<boolean> {
    const tolerance = this.options.lateToleranceMs ?? this.intervalMs / 4;
    // Woken too late: the next slot's holder may already be sending, so take a later slot. Bounded,
    // so a process that is always late still sends.
    for (let tries = 1; ; tries++) {
      const slot = await this.reserveSlot(channel);
      if (slot === null) return false;
      const wait = Date.parse(slot) - this.now();
      if (wait > 0) await this.sleep(wait);
      if (this.now() - Date.parse(slot) <= tolerance || tries === 3) return true;
    }
  }

  /** The channel's next slot from the store; null (logged once) when the store fails or is slow. */
  private async reserveSlot(channel: string): Promise<string | null> {
    const reserve = this.options.reserveSlot as NonNullable<ChannelQueueOptions['reserveSlot']>;
    const timeoutMs = this.options.reserveTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    let slot: string;
    try {
      slot = await Promise.race([
        reserve(channel, new Date(this.now()).toISOString(), this.intervalMs, this.burst),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from the store within ${timeoutMs}ms`)), timeoutMs);
          timer.unref();
        }),
      ]);
    } catch (err) {
      if (!this.pacingDown) this.options.logger.warn({ err, channel }, 'could not reserve a chat slot in the store; pacing this process on its own until it answers');
      this.pacingDown = true;
      return null;
    } finally {
      clearTimeout(timer);
    }
    if (this.pacingDown) this.options.logger.warn({ channel }, 'chat slots come from the store again');
    this.pacingDown = false;
    return slot;
  }
}

/** Removes and returns the first op of the highest priority waiting. */
function takeNext(queue: Pending[]): Pending {
  let best = 0;
  for (let i = 1; i < queue.length; i++) if ((queue[i] as Pending).rank < (queue[best] as Pending).rank) best = i;
  return queue.splice(best, 1)[0] as Pending;
}
