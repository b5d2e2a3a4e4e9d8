/**
 * Fault injection for the fake Web API: one-shot failures, Slack-style rate limiting and latency.
 */

/** What failNext() can make a method do instead of its normal answer. */
export type InjectedFailure =
  /** HTTP 429 with `Retry-After: <retryAfter>` (seconds, default 1). */
  | { status: 429; retryAfter?: number }
  /** Any other HTTP status, e.g. 500/503, with an optional plain-text body. */
  | { status: number; body?: string }
  /** HTTP 200 `{ ok: false, error, ...extra }` – how Slack reports nearly every failure. */
  | ({ error: string } & Record<string, unknown>)
  /** Destroy the connection without answering. */
  | { drop: true };

/**
 * What failAfterNext() does to a call once the method has done its work (a message stored): the
 * caller never learns it happened (drop), or learns it only after a stall.
 */
export type AfterEffectFault = { drop: true } | { stallMs: number };

export interface RateLimitOptions {
  /** Calls accepted per channel in any rolling second; more get HTTP 429. Slack's chat.postMessage allows ~1. */
  perSecondPerChannel: number;
  /** Seconds advertised in Retry-After (default 1). */
  retryAfter?: number;
}

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Slack's rate-limit answer: HTTP 429, Retry-After in whole seconds, and a `ratelimited` body. */
export function rateLimitedAnswer(retryAfterSeconds: number): Answer {
  return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(retryAfterSeconds) } };
}

export function injectedAnswer(failure: Exclude<InjectedFailure, { drop: true }>): Answer {
  if ('error' in failure) return { status: 200, body: { ok: false, ...failure } };
  if (failure.status === 429) return rateLimitedAnswer(('retryAfter' in failure ? failure.retryAfter : undefined) ?? 1);
  return { status: failure.status, body: ('body' in failure ? failure.body : undefined) ?? 'Internal Server Error' };
}

export class Faults {
  private readonly failures = new Map<string, InjectedFailure[]>();
  private readonly rateLimits = new Map<string, RateLimitOptions>();
  private readonly recentCalls = new Map<string, number[]>();
  private readonly delays = new Map<string, number>();
  private readonly holds = new Map<string, { released: Promise<void>; release: () => void }>();

  private readonly afterEffect = new Map<string, AfterEffectFault[]>();
  private readonly answerStalls = new Map<string, number>();

  failAfterNext(method: string, fault: AfterEffectFault, times: number): void {
    const queue = this.afterEffect.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.afterEffect.set(method, queue);
  }

  stallAnswers(method: string, ms: number): void {
    if (ms > 0) this.answerStalls.set(method, ms);
    else this.answerStalls.delete(method);
  }

  private readonly answerHolds = new Map<string, { released: Promise<void>; release: () => void }>();

  /** Until release(), calls to `method` do their work and then wait for it before answering. */
  holdAnswers(method: string): () => void {
    this.answerHolds.get(method)?.release();
    let open!: () => void;
    const released = new Promise<void>((resolve) => (open = resolve));
    const hold = {
      released,
      release: () => {
        if (this.answerHolds.get(method) === hold) this.answerHolds.delete(method);
        open();
      },
    };
    this.answerHolds.set(method, hold);
    return hold.release;
  }

  /** Resolves once answers to `method` are not held (at once when they never were). */
  async answerHeldBack(method: string): Promise<void> {
    await this.answerHolds.get(method)?.released;
  }

  /** For a call whose method did its work: the queued after-effect fault, else the standing stall (if any). */
  takeAfterEffect(method: string): AfterEffectFault | undefined {
    const queued = this.afterEffect.get(method)?.shift();
    if (queued) return queued;
    const stallMs = this.answerStalls.get(method) ?? 0;
    return stallMs > 0 ? { stallMs } : undefined;
  }

  failNext(method: string, failure: InjectedFailure, times: number): void {
    const queue = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(failure);
    this.failures.set(method, queue);
  }

  /** The next queued failure for `method`, falling back to the '*' queue. */
  take(method: string): InjectedFailure | undefined {
    return this.failures.get(method)?.shift() ?? this.failures.get('*')?.shift();
  }

  rateLimit(method: string, options: RateLimitOptions | null): void {
    if (options) this.rateLimits.set(method, options);
    else this.rateLimits.delete(method);
  }

  /**
   * Sliding one-second window per (method, channel). Only calls that get through are counted,
   * so a client that backs off for Retry-After seconds is always let through afterwards.
   */
  checkRateLimit(method: string, args: Record<string, unknown>): Answer | undefined {
    const limit = this.rateLimits.get(method);
    if (!limit) return undefined;
    const key = `${method} ${String(args.channel ?? '')}`;
    const now = Date.now();
    const recent = (this.recentCalls.get(key) ?? []).filter((t) => now - t < 1000);
    const limited = recent.length >= limit.perSecondPerChannel;
    if (!limited) recent.push(now);
    this.recentCalls.set(key, recent);
    return limited ? rateLimitedAnswer(limit.retryAfter ?? 1) : undefined;
  }

  delay(method: string, ms: number): void {
    if (ms > 0) this.delays.set(method, ms);
    else this.delays.delete(method);
  }

  delayFor(method: string): number {
    return this.delays.get(method) ?? this.delays.get('*') ?? 0;
  }

  /** Until release() is called, calls to `method` are recorded but not answered (the caller waits). */
  hold(method: string): () => void {
    this.holds.get(method)?.release(); // a new hold replaces the old one
    let open!: () => void;
    const released = new Promise<void>((resolve) => (open = resolve));
    const hold = {
      released,
      release: () => {
        if (this.holds.get(method) === hold) this.holds.delete(method);
        open();
      },
    };
    this.holds.set(method, hold);
    return hold.release;
  }

  /** Resolves once `method` is not held (at once when it never was). */
  async heldBack(method: string): Promise<void> {
    await this.holds.get(method)?.released;
  }

  releaseAll(): void {
    for (const hold of [...this.holds.values(), ...this.answerHolds.values()]) hold.release();
  }
}
