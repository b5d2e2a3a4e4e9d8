import { randomUUID } from 'node:crypto';
import type { ScheduledTask } from 'node-cron';
import type { Clock } from '../core/clock.js';
import { nodeCron } from '../core/lazy-module.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import type { Reaction } from './load-reactions.js';

/** A six-field expression ("*\/10 * * * * *") names seconds; five fields tick at most once a minute. */
export function hasSecondsField(expression: string): boolean {
  return expression.trim().split(/\s+/).length === 6;
}

/**
 * The identity of one tick: the time it was scheduled for, to the expression's precision. Every
 * replica that fires the same tick computes the same value, however late its timer ran.
 */
export function tickOf(scheduledFor: Date, expression: string): string {
  const unit = hasSecondsField(expression) ? 1_000 : 60_000;
  return new Date(Math.floor(scheduledFor.getTime() / unit) * unit).toISOString();
}

/**
 * Schedules: node-cron says when; the store says who. Each tick becomes a job whose key is
 * (reaction, tick), so with several replicas exactly one of them creates it.
 */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];

  constructor(
    private readonly options: { reactions: readonly Reaction[]; store: Store; clock: Clock; logger: Logger; wake: () => void },
  ) {}

  start(): void {
    for (const reaction of this.options.reactions) {
      if (!('schedule' in reaction.on)) continue;
      // context.date is the time the tick was scheduled for, not when the timer happened to run.
      const task = nodeCron().schedule(reaction.on.schedule, (context) => void this.fire(reaction.name, context.date), {
        timezone: reaction.on.timezone,
        name: `deckhand:${reaction.name}`,
      });
      this.tasks.push(task);
    }
  }

  /** Records one tick of a schedule (called by cron, or by tests with an injected time). Resolves true if this call created it. */
  async fire(name: string, scheduledFor: Date): Promise<boolean> {
    const reaction = this.options.reactions.find((r) => r.name === name);
    const expression = reaction && 'schedule' in reaction.on ? reaction.on.schedule : '* * * * *';
    const tick = tickOf(scheduledFor, expression);
    try {
      const job = await this.options.store.enqueueJob({ type: 'tick', key: `tick:${name}:${tick}`, payload: { reaction: name, tick, nonce: randomUUID() }, runAt: this.options.clock.now().toISOString(), maxAttempts: 3 });
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
