import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import type { Reaction } from './load-reactions.js';

/**
 * Schedules: node-cron says when; the store says who. Each tick becomes a job whose key is
 * (reaction, minute), so with several replicas exactly one of them creates it.
 */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];

  constructor(
    private readonly options: { reactions: readonly Reaction[]; store: Store; clock: Clock; logger: Logger; wake: () => void },
  ) {}

  start(): void {
    for (const reaction of this.options.reactions) {
      if (!('schedule' in reaction.on)) continue;
      const task = cron.schedule(reaction.on.schedule, () => void this.fire(reaction.name, this.options.clock.now()), {
        timezone: reaction.on.timezone,
        name: `deckhand:${reaction.name}`,
      });
      this.tasks.push(task);
    }
  }

  /** Records one tick of a schedule (called by cron, or by tests with an injected time). Resolves true if this call created it. */
  async fire(name: string, at: Date): Promise<boolean> {
    const tick = new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
    try {
      const job = await this.options.store.enqueueJob({ type: 'tick', key: `tick:${name}:${tick}`, payload: { reaction: name, tick }, runAt: this.options.clock.now().toISOString(), maxAttempts: 3 });
      if (job) this.options.wake();
      return job !== null;
    } catch (err) {
      this.options.logger.error({ err, reaction: name, tick }, 'could not record a schedule tick');
      return false;
    }
  }

  async stop(): Promise<void> {
    for (const task of this.tasks) await task.stop();
    this.tasks.length = 0;
  }
}
