import { silentLogger } from '../../../src/core/logger.js';
import { defaultRetention } from '../../../src/config/retention.js';
import { Pruner } from '../../../src/jobs/pruner.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { PruneKind } from '../../../src/store/types.js';

const now = new Date('2026-01-01T00:00:00.000Z');
const clock = { now: () => now };
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

describe('Pruner', () => {
  let store: SqliteStore;
  let calls: Array<{ kind: PruneKind; before: string; limit: number }>;

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    calls = [];
    const prune = store.prune.bind(store);
    store.prune = async (kind, before, limit) => {
      calls.push({ kind, before, limit });
      return prune(kind, before, limit);
    };
  });

  afterEach(async () => {
    await store.close();
  });

  test('deletes each kind in batches until one comes back short, and leaves kinds kept forever alone', async () => {
    for (let i = 0; i < 7; i++) await store.appendEvent({ type: 'tick', at: daysAgo(400 + i), data: null });
    const recent = await store.appendEvent({ type: 'tick', at: daysAgo(10), data: null });
    const audit = await store.appendAudit({ at: daysAgo(1000), actor: 'a', action: 'deploy', target: 't', outcome: 'ok', details: {} });

    const pruner = new Pruner({ store, clock, logger: silentLogger, retention: { ...defaultRetention, audit: null }, batchSize: 3, pauseMs: 0 });
    const summary = await pruner.runOnce();

    expect(summary).toEqual({ deliveries: 0, jobs: 0, seen: 0, events: 7, audit: 0, logs: 0, posts: 0 });
    expect(calls.filter((c) => c.kind === 'events').map((c) => c.limit)).toEqual([3, 3, 3]);
    expect(calls.find((c) => c.kind === 'events')?.before).toBe(daysAgo(365));
    expect(calls.some((c) => c.kind === 'audit')).toBe(false);
    expect(await store.listEvents()).toEqual([recent]);
    expect(await store.listAudit()).toEqual([audit]);
  });

  test('stop() lets the batch under way finish and starts no other', async () => {
    for (let i = 0; i < 5; i++) await store.appendEvent({ type: 'tick', at: daysAgo(400), data: null });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const prune = store.prune;
    let waiting = false;
    store.prune = async (kind, before, limit) => {
      if (kind === 'events') {
        waiting = true;
        await gate;
      }
      return prune(kind, before, limit);
    };
    const pruner = new Pruner({ store, clock, logger: silentLogger, retention: defaultRetention, batchSize: 2, pauseMs: 0 });
    const run = pruner.runOnce();
    while (!waiting) await new Promise((resolve) => setImmediate(resolve));
    let stopped = false;
    const stopping = pruner.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false); // still waiting for the batch
    release();
    await stopping;
    expect((await run).events).toBe(2);
    expect(calls.map((c) => c.kind)).toEqual(['deliveries', 'jobs', 'seen', 'events']);
    expect(await store.listEvents()).toHaveLength(3);
  });

  test('start() runs a first pass by itself; nothing starts when every kind is kept forever', async () => {
    const off = new Pruner({ store, clock, logger: silentLogger, retention: { deliveries: null, jobs: null, seen: null, events: null, audit: null, logs: null, posts: null }, firstDelayMs: 0 });
    off.start();
    await off.stop();

    await store.appendEvent({ type: 'tick', at: daysAgo(400), data: null });
    let passed!: () => void;
    const firstPass = new Promise<void>((resolve) => (passed = resolve));
    const logger = Object.assign(Object.create(silentLogger) as typeof silentLogger, { info: () => passed(), debug: () => passed() });
    const pruner = new Pruner({ store, clock, logger, retention: defaultRetention, firstDelayMs: 0, intervalMs: 3_600_000 });
    pruner.start();
    await firstPass;
    await pruner.stop();
    expect(calls.map((c) => c.kind)).toEqual(['deliveries', 'jobs', 'seen', 'events', 'audit', 'logs', 'posts']);
    expect(await store.listEvents()).toEqual([]);
  });
});
