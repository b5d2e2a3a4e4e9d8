import { systemClock } from '../../../src/core/clock.js';
import { DeckhandError, ErrorCode } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { JobWorker, type JobHandler } from '../../../src/jobs/job-worker.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Job } from '../../../src/core/model.js';

describe('the job worker: permanent failures are not retried', () => {
  let store: SqliteStore;
  let worker: JobWorker;
  let handler: JobHandler;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    // Retries are due a millisecond later, so a test sees all of them quickly.
    worker = new JobWorker({ store, clock: systemClock, logger: silentLogger, handlers: { test: (job) => handler(job) }, pollMs: 5, retryBaseMs: 1, retryMaxMs: 1 });
    worker.start();
  });
  afterEach(async () => {
    await worker.stop();
    await store.close();
  });

  async function settled(maxAttempts = 5): Promise<Job> {
    const job = await store.enqueueJob({ type: 'test', payload: {}, runAt: new Date().toISOString(), maxAttempts });
    worker.kick();
    const end = Date.now() + 10_000;
    for (;;) {
      const now = await store.getJob(job!.id);
      if (now && (now.state === 'done' || now.state === 'dead')) return now;
      if (Date.now() > end) throw new Error(`job still ${now?.state} after ${now?.attempts} attempts`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  test('an invalid input (E_USAGE) goes dead after one attempt, with its reason', async () => {
    handler = async () => {
      throw new DeckhandError(ErrorCode.Usage, 'ref: a ref is a branch, tag or commit');
    };
    expect(await settled()).toMatchObject({ state: 'dead', attempts: 1, lastError: 'ref: a ref is a branch, tag or commit' });
  });

  test('a refusal by the other system (E_UPSTREAM 404) goes dead after one attempt', async () => {
    handler = async () => {
      throw new DeckhandError(ErrorCode.Upstream, 'HTTP POST failed after 1 attempts: HTTP 404 Not Found', { status: 404 });
    };
    expect(await settled()).toMatchObject({ state: 'dead', attempts: 1, lastError: 'HTTP POST failed after 1 attempts: HTTP 404 Not Found' });
  });

  test('a transient failure (E_UPSTREAM 503) is retried, and the job finishes when it passes', async () => {
    let calls = 0;
    handler = async () => {
      calls += 1;
      if (calls < 3) throw new DeckhandError(ErrorCode.Upstream, 'HTTP POST failed after 4 attempts: HTTP 503', { status: 503 });
    };
    expect(await settled()).toMatchObject({ state: 'done', attempts: 3 });
  });

  test('an error of unknown kind keeps every retry before the dead letter', async () => {
    handler = async () => {
      throw new Error('socket hang up');
    };
    expect(await settled(3)).toMatchObject({ state: 'dead', attempts: 3, lastError: 'socket hang up' });
  });
});

describe('the job worker when the store goes away', () => {
  test('a claim that fails (database restarting) does not end the loop: the next poll claims again', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const realClaim = store.claimJobs.bind(store);
    let failures = 3;
    store.claimJobs = async (...args) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('connection terminated unexpectedly');
      }
      return realClaim(...args);
    };
    const ran: number[] = [];
    const worker = new JobWorker({ store, clock: systemClock, logger: silentLogger, handlers: { test: async (job) => void ran.push(job.id) }, pollMs: 5 });
    worker.start();
    try {
      const job = await store.enqueueJob({ type: 'test', payload: {}, runAt: new Date().toISOString(), maxAttempts: 1 });
      const end = Date.now() + 10_000;
      while (ran.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(failures).toBe(0);
      expect(ran).toEqual([job!.id]);
    } finally {
      await worker.stop();
      await store.close();
    }
  });
});

describe('the job worker with a backlog: claims in batches, and long jobs never keep the free slots idle', () => {
  test('100 quick jobs with 8 slots are claimed in far fewer than 100 claims', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const claim = store.claimJobs.bind(store);
    const sizes: number[] = [];
    store.claimJobs = async (...args: Parameters<SqliteStore['claimJobs']>) => {
      const jobs = await claim(...args);
      if (jobs.length > 0) sizes.push(jobs.length);
      return jobs;
    };
    const ran = new Set<number>();
    // Each job takes a few turns of the event loop, like a real one reading the store, each a
    // different number: they finish one by one, not together.
    // A wait long enough for the staggered jobs below to finish in, however slow the machine is.
    const worker = new JobWorker({ store, clock: systemClock, logger: silentLogger, pollMs: 5, batchWaitMs: 100, handlers: { q: async (job) => {
      for (let i = 0; i < 1 + (job.id % 8) * 3; i++) await new Promise((r) => setImmediate(r));
      ran.add(job.id);
    } } });
    for (let i = 0; i < 100; i++) await store.enqueueJob({ type: 'q', payload: { i }, runAt: new Date().toISOString() });
    worker.start();
    for (let i = 0; i < 2000 && ran.size < 100; i++) await new Promise((r) => setTimeout(r, 5));
    await worker.stop();
    await store.close();
    expect(ran.size).toBe(100);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
    expect(sizes.length).toBeLessThan(30); // batched: ~15; one claim per finished job: ~50
  });

  test('five long jobs hold five of eight slots: the quick ones behind them still run in the other three', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const quick = new Set<number>();
    const worker = new JobWorker({ store, clock: systemClock, logger: silentLogger, pollMs: 5, handlers: { long: () => held, quick: async (job) => void quick.add(job.id) } });
    for (let i = 0; i < 5; i++) await store.enqueueJob({ type: 'long', payload: { i }, runAt: new Date(Date.now() - 1000).toISOString() });
    for (let i = 0; i < 30; i++) await store.enqueueJob({ type: 'quick', payload: { i }, runAt: new Date().toISOString() });
    worker.start();
    for (let i = 0; i < 2000 && quick.size < 30; i++) await new Promise((r) => setTimeout(r, 5));
    expect(quick.size).toBe(30);
    release();
    await worker.stop();
    await store.close();
  });
});
