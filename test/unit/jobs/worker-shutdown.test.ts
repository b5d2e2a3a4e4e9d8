import { systemClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Heartbeat, describeThisProcess } from '../../../src/jobs/heartbeat.js';
import { JobWorker, type JobHandler } from '../../../src/jobs/job-worker.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { until } from '../../fixtures/in-process.js';
import { ManualClock } from '../../fixtures/harness.js';

describe('a graceful stop of the job worker', () => {
  let store: SqliteStore;
  let handler: JobHandler;
  let worker: JobWorker;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    await store.registerInstance({ id: 'me', host: 'box', pidScope: null, pid: 1, startedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() });
    worker = new JobWorker({ store, clock: systemClock, logger: silentLogger, owner: 'me', handlers: { test: (job, signal) => handler(job, signal) }, pollMs: 5 });
    worker.start();
  });
  afterEach(async () => store.close());

  async function running() {
    const job = await store.enqueueJob({ type: 'test', payload: {}, runAt: new Date().toISOString() });
    worker.kick();
    await until(async () => (await store.getJob(job!.id))?.state === 'running', 'the job to run');
    return job!.id;
  }

  test('a job that finishes within the grace period is done; nothing is left', async () => {
    let finish = () => {};
    handler = () => new Promise<void>((resolve) => (finish = resolve));
    const id = await running();
    const stopping = worker.shutdown(60_000);
    finish();
    expect(await stopping).toBe(0);
    expect(await store.getJob(id)).toMatchObject({ state: 'done' });
  });

  test('a job still running when the grace period ends is aborted, not failed, and handed back by stopping the instance', async () => {
    handler = (_job, signal) => new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('stopped')), { once: true }));
    const id = await running();
    expect(await worker.shutdown(50)).toBe(1);
    // Still leased to this instance: no failure recorded, no retry backoff.
    expect(await store.getJob(id)).toMatchObject({ state: 'running', leaseOwner: 'me', lastError: null, attempts: 1 });
    expect(await store.stopInstance('me', new Date().toISOString())).toBe(1);
    expect(await store.getJob(id)).toMatchObject({ state: 'pending', leaseOwner: null, attempts: 1 });
  });

  test('claims nothing once the shutdown began', async () => {
    handler = async () => {};
    expect(await worker.shutdown(1000)).toBe(0);
    const job = await store.enqueueJob({ type: 'test', payload: {}, runAt: new Date().toISOString() });
    worker.kick();
    await new Promise((r) => setTimeout(r, 50));
    expect(await store.getJob(job!.id)).toMatchObject({ state: 'pending', attempts: 0 });
  });
});

describe('the heartbeat', () => {
  test('registers, renews, registers again after it lapsed, and stops', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const clock = new ManualClock(new Date('2026-01-01T10:00:00Z'));
    const instance = describeThisProcess(clock);
    const heartbeat = new Heartbeat({ store, clock, logger: silentLogger, instance, expiryMs: 300 });
    await heartbeat.start();
    expect(await store.listInstances()).toEqual([expect.objectContaining({ id: instance.id, pid: process.pid, expiresAt: '2026-01-01T10:00:00.300Z' })]);
    clock.advance(100);
    await until(async () => (await store.listInstances())[0]?.expiresAt === '2026-01-01T10:00:00.400Z', 'a renewal', 5000);
    // Paused past its expiry: another process may stop it meanwhile; it registers again.
    clock.advance(10_000);
    await store.stopInstance(instance.id, clock.now().toISOString());
    await until(async () => (await store.listInstances())[0]?.expiresAt === '2026-01-01T10:00:10.400Z', 'registering again', 5000);
    await heartbeat.stop();
    expect(await store.listInstances()).toEqual([]);
    await store.close();
  });
});
