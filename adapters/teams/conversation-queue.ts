import type { Logger } from '../../src/core/logger.js';
import { ConnectorError } from './connector.js';

/**
 * One lane per Teams conversation: calls run one at a time in the order they were queued (a
 * reply is never overtaken by the next one), and a 429 or 5xx is tried again after its
 * Retry-After (else a growing pause) up to `maxAttempts`, holding the lane meanwhile — the same
 * idea as the Slack adapter's channel queue, without Slack's pacing and merging.
 */
export class ConversationQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: { logger: Logger; maxAttempts?: number; retryDelayMs?: number; sleep?: (ms: number) => Promise<void> }) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Resolves with what `run` returned once it succeeded; rejects when it gave up. */
  enqueue<T>(conversation: string, run: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(conversation) ?? Promise.resolve();
    const result = previous.then(() => this.attempt(conversation, run));
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(conversation, tail);
    void tail.then(() => {
      if (this.tails.get(conversation) === tail) this.tails.delete(conversation);
    });
    return result;
  }

  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.allSettled([...this.tails.values()]);
  }

  private async attempt<T>(conversation: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        const retryable = err instanceof ConnectorError && err.retryable;
        const wait = err instanceof ConnectorError && err.retryAfterMs !== null ? err.retryAfterMs : this.retryDelayMs * attempt;
        this.options.logger.warn({ err, conversation, attempt, retryAfterMs: wait, retryable }, 'teams connector call failed');
        if (!retryable || attempt >= this.maxAttempts) throw err;
        await this.sleep(wait);
      }
    }
  }
}
