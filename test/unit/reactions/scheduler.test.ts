import { silentLogger } from '../../../src/core/logger.js';
import type { Reaction } from '../../../src/reactions/load-reactions.js';
import { Scheduler, tickOf } from '../../../src/reactions/scheduler.js';
import { openStore } from '../../../src/store/open-store.js';
import type { Store } from '../../../src/store/types.js';

const scheduled = (name: string, schedule: string): Reaction =>
  ({ name, file: `${name}.yaml`, kind: 'schedule', secrets: [], requires: [], concurrency: 1, on: { schedule, timezone: 'UTC' }, do: [{ chat: { channel: '#x', text: 'tick' } }] }) as unknown as Reaction;

describe('schedule ticks', () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore('sqlite::memory:');
  });
  afterEach(async () => store.close());

  const scheduler = (reactions: Reaction[]) => new Scheduler({ reactions, store, clock: { now: () => new Date() }, logger: silentLogger, wake: () => {} });

  test('tickOf: a five-field expression ticks per minute, a six-field one per second', () => {
    const at = new Date('2026-11-25T10:00:10.500Z');
    expect(tickOf(at, '*/5 * * * *')).toBe('2026-11-25T10:00:00.000Z');
    expect(tickOf(at, '*/10 * * * * *')).toBe('2026-11-25T10:00:10.000Z');
  });

  test('a six-field (seconds) schedule records every tick, not one a minute', async () => {
    const s = scheduler([scheduled('every-ten-seconds', '*/10 * * * * *')]);
    const minute = Date.parse('2026-11-25T10:00:00.000Z');
    const fired = [];
    for (let second = 0; second < 60; second += 10) fired.push(await s.fire('every-ten-seconds', new Date(minute + second * 1000)));
    expect(fired).toEqual([true, true, true, true, true, true]);
    expect(await store.listJobs({ type: 'tick' })).toHaveLength(6);
  });

  test('the same tick fired by two replicas is recorded once, at either precision', async () => {
    const s = scheduler([scheduled('seconds', '*/10 * * * * *'), scheduled('minutes', '0 9 * * *')]);
    const at = new Date('2026-11-25T09:00:10.000Z');
    expect(await Promise.all([s.fire('seconds', at), s.fire('seconds', new Date(at.getTime() + 400))])).toEqual([true, false]);
    const nine = new Date('2026-11-25T09:00:00.000Z');
    expect(await Promise.all([s.fire('minutes', nine), s.fire('minutes', new Date(nine.getTime() + 30_000))])).toEqual([true, false]);
  });

  test('node-cron runs a seconds schedule at its real times (bounded: two ticks of a one-second schedule)', async () => {
    const s = scheduler([scheduled('each-second', '* * * * * *')]);
    s.start();
    try {
      const deadline = Date.now() + 10_000;
      while ((await store.listJobs({ type: 'tick' })).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await s.stop();
    }
    const ticks = (await store.listJobs({ type: 'tick' })).map((j) => (j.payload as { tick: string }).tick);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ticks).size).toBe(ticks.length);
  });
});
