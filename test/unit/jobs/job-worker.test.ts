import { systemClock } from '../../../src/core/clock.js';
import { DeckhandError, ErrorCode } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { JobWorker, type JobHandler, type JobWorkerOptions } from '../../../src/jobs/job-worker.js';
import { DeliveryInbox } from '../../../src/store/delivery-inbox.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { DeliveryToAccept } from '../../../src/store/types.js';
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


describe('the job worker with claim at intake: jobs leased by their own insert (DeliveryInbox) and handed over', () => {
  /** Waits (polling) until `ok`, failing after 10 s with `what`. */
  async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
    const end = Date.now() + 10_000;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`still waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  const delivery = (deliveryId: string): DeliveryToAccept => ({
    delivery: { source: 'github', deliveryId, receivedAt: '2025-01-01T12:00:00.000Z', contentType: 'application/json', headers: {}, query: {}, body: { deliveryId } },
    job: { type: 'hook', runAt: '2025-01-01T12:00:00.000Z' },
  });

  interface Rig {
    store: SqliteStore;
    worker: JobWorker;
    inbox: DeliveryInbox;
    /** claimJobs calls, and how many jobs they returned. */
    claims: { calls: number; jobs: number };
    /** Store.completeJobs calls (none: a worker's completions go through a delivery inbox's commits). */
    completeJobsCalls: () => number;
    /** Jobs whose handler started, in order. */
    started: number[];
    /** Ends a started job's handler. */
    finish: (id: number) => void;
    /** The most handlers that ran at once. */
    most: () => number;
    /** Jobs whose handler was told to stop (its signal aborted), in order. */
    aborted: number[];
    /** Accepts deliveries through the inbox in one batch; the jobs claimed at intake (each must be). */
    accept: (...ids: string[]) => Promise<Job[]>;
    close: () => Promise<void>;
  }

  /**
   * A real SQLite store; a worker (never polling) that is the inbox's runner; handlers that run
   * until the test finishes them (`held`, the default) or end at once, and end when aborted.
   */
  async function rig(options: Partial<JobWorkerOptions> & { held?: boolean; completeViaInbox?: boolean } = {}): Promise<Rig> {
    const { held = true, completeViaInbox = false, ...workerOptions } = options;
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const claims = { calls: 0, jobs: 0 };
    const claim = store.claimJobs.bind(store);
    store.claimJobs = async (...args: Parameters<SqliteStore['claimJobs']>) => {
      claims.calls += 1;
      const jobs = await claim(...args);
      claims.jobs += jobs.length;
      return jobs;
    };
    let completeJobsCalls = 0;
    const completeJobs = store.completeJobs.bind(store);
    store.completeJobs = async (...args: Parameters<SqliteStore['completeJobs']>) => {
      completeJobsCalls += 1;
      return completeJobs(...args);
    };
    const started: number[] = [];
    const aborted: number[] = [];
    const release = new Map<number, () => void>();
    let running = 0;
    let most = 0;
    const hook: JobHandler = (job, signal) =>
      new Promise<void>((resolve, reject) => {
        started.push(job.id);
        running += 1;
        most = Math.max(most, running);
        let ended = false;
        const end = (err?: Error) => {
          if (ended) return;
          ended = true;
          running -= 1;
          release.delete(job.id);
          if (err) reject(err);
          else resolve();
        };
        signal?.addEventListener('abort', () => {
          aborted.push(job.id);
          end(new Error('aborted by the shutdown'));
        });
        if (held) release.set(job.id, () => end());
        else end();
      });
    const inbox = new DeliveryInbox(store);
    const worker = new JobWorker({
      store,
      clock: systemClock,
      logger: silentLogger,
      handlers: { hook },
      // No polls: a claim happens only when the worker's loop decides so.
      pollMs: 60_000,
      ...(completeViaInbox ? { complete: (done) => inbox.complete(done) } : {}),
      ...workerOptions,
    });
    inbox.runJobsWith(worker);
    worker.start();
    await until('the first (empty) claim', () => claims.calls === 1);
    return {
      store,
      worker,
      inbox,
      claims,
      completeJobsCalls: () => completeJobsCalls,
      started,
      finish: (id) => {
        const end = release.get(id);
        if (!end) throw new Error(`job ${id} is not running`);
        end();
      },
      most: () => most,
      aborted,
      accept: async (...ids) => {
        const results = await Promise.all(ids.map((id) => inbox.accept(delivery(id))));
        return results.map((r, i) => {
          if (!r.job) throw new Error(`delivery ${ids[i]} was not claimed at intake`);
          return r.job;
        });
      },
      close: async () => {
        for (const end of [...release.values()]) end();
        await worker.stop();
        await store.close();
      },
    };
  }

  test('adopted jobs run in the free slots, never more than `concurrency` at once; the rest wait, leased to the worker, and run in order as slots free up', async () => {
    const r = await rig({ concurrency: 2 });
    try {
      const [a, b, c, d] = (await r.accept('a', 'b', 'c', 'd')).map((j) => j.id) as [number, number, number, number];
      await until('two jobs started', () => r.started.length === 2);
      expect(r.started).toEqual([a, b]);
      // The two waiting are this worker's already: running, attempt 1; nobody else can claim them.
      for (const id of [c, d]) expect(await r.store.getJob(id)).toMatchObject({ state: 'running', attempts: 1, leaseOwner: r.worker.owner });
      expect(await r.store.claimJobs('someone-else', new Date().toISOString(), 60_000, 10)).toEqual([]);
      r.finish(b);
      await until('the third job started', () => r.started.length === 3);
      expect(r.started).toEqual([a, b, c]);
      r.finish(a);
      await until('the fourth job started', () => r.started.length === 4);
      r.finish(c);
      r.finish(d);
      await until('every job done', async () => (await r.store.listJobs({ state: 'done' })).length === 4);
      expect(r.started).toEqual([a, b, c, d]);
      expect(r.most()).toBe(2);
      // None came through a claim: the worker's one claim found nothing (and so did the test's above).
      expect(r.claims.jobs).toBe(0);
    } finally {
      await r.close();
    }
  });

  test('reserve grants up to a fixed multiple of the slots, less the jobs running, waiting and reserved; nothing once stopped', async () => {
    const r = await rig({ concurrency: 2 });
    try {
      // Idle: room for the slots and a line of waiting jobs behind them.
      const room = r.worker.reserve(1000);
      expect(room).toBeGreaterThan(2);
      expect(room % 2).toBe(0);
      expect(r.worker.reserve(1)).toBe(0);
      r.worker.adopt([], room); // a batch that failed: the slots are free again
      expect(r.worker.reserve(3)).toBe(3);
      expect(r.worker.reserve(1000)).toBe(room - 3);
      r.worker.adopt([], room);
      await r.accept('a', 'b', 'c'); // two running, one waiting
      await until('two jobs started', () => r.started.length === 2);
      // Through the inbox: room for `room - 3` more; the other six stay pending for any worker.
      const more = room - 3 + 6;
      const results = await Promise.all(Array.from({ length: more }, (_, i) => r.inbox.accept(delivery(`more-${i}`))));
      expect(results.map((x) => x.job !== undefined)).toEqual([...Array(room - 3).fill(true), ...Array(6).fill(false)]);
      expect(results.map((x) => x.queued)).toEqual([...Array(room - 3).fill(false), ...Array(6).fill(true)]);
      expect(r.worker.reserve(1)).toBe(0);
      expect(await r.store.listJobs({ state: 'pending' })).toHaveLength(6);
      // Stopping drops the waiting jobs, which frees their places, but a stopped worker reserves none.
      const stopping = r.worker.stop();
      expect(r.worker.reserve(1)).toBe(0);
      for (const id of r.started) r.finish(id);
      await stopping;
    } finally {
      await r.close();
    }
  });

  test('a running job whose lease another process took over is stopped here, and neither completed nor failed by this worker', async () => {
    const instance = { host: 'box', pidScope: 'boot/pid:[1]', pid: 100, startedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString() };
    const r = await rig({ concurrency: 1, leaseMs: 300, owner: 'instance-lost' });
    try {
      await r.store.registerInstance({ id: 'instance-lost', ...instance });
      const [a] = (await r.accept('a')).map((j) => j.id) as [number];
      await until('the job started', () => r.started.length === 1);
      // This process counted as gone meanwhile: its jobs were handed back, and another worker took this one.
      await r.store.stopInstance('instance-lost', new Date().toISOString());
      const [taken] = await r.store.claimJobs('other-worker', new Date().toISOString(), 600_000, 1);
      expect(taken?.id).toBe(a);
      await until('the handler told to stop', () => r.aborted.includes(a));
      // Still the other worker's, on its attempt: this one recorded nothing.
      await r.worker.idle();
      expect(await r.store.getJob(a)).toMatchObject({ state: 'running', leaseOwner: 'other-worker', attempts: 2, lastError: null });
      expect(r.started).toEqual([a]);
    } finally {
      await r.close();
    }
  });

  test('the leases of jobs waiting for a slot are renewed while they wait', async () => {
    const r = await rig({ concurrency: 1, leaseMs: 300 });
    try {
      const [a, b] = (await r.accept('a', 'b')).map((j) => j.id) as [number, number];
      await until('the first job started', () => r.started.length === 1);
      const first = (await r.store.getJob(b))?.leaseExpiresAt;
      expect(first).toEqual(expect.any(String));
      await until('the waiting job’s lease renewed', async () => ((await r.store.getJob(b))?.leaseExpiresAt ?? '') > (first ?? ''));
      expect(await r.store.getJob(b)).toMatchObject({ state: 'running', attempts: 1, leaseOwner: r.worker.owner });
      expect(r.started).toEqual([a]);
      r.finish(a);
      await until('the waiting job started', () => r.started.length === 2);
      r.finish(b);
      await until('both done', async () => (await r.store.listJobs({ state: 'done' })).length === 2);
    } finally {
      await r.close();
    }
  });

  test('stop() starts none of the waiting jobs: they stay leased to the worker, unstarted, and no longer renewed', async () => {
    const r = await rig({ concurrency: 2, leaseMs: 300 });
    try {
      const [a, b, c, d] = (await r.accept('a', 'b', 'c', 'd')).map((j) => j.id) as [number, number, number, number];
      await until('two jobs started', () => r.started.length === 2);
      const stopping = r.worker.stop();
      r.finish(a);
      r.finish(b);
      await stopping;
      expect(r.started).toEqual([a, b]);
      for (const id of [a, b]) expect(await r.store.getJob(id)).toMatchObject({ state: 'done' });
      for (const id of [c, d]) expect(await r.store.getJob(id)).toMatchObject({ state: 'running', attempts: 1, leaseOwner: r.worker.owner, finishedAt: null });
      // Nothing renews their leases any more: once they run out, another worker takes both over.
      let taken: Job[] = [];
      await until('the dropped jobs taken over', async () => {
        taken = [...taken, ...(await r.store.claimJobs('someone-else', new Date().toISOString(), 60_000, 10))];
        return taken.length === 2;
      });
      expect(taken.map((j) => [j.id, j.attempts])).toEqual([
        [c, 2],
        [d, 2],
      ]);
      expect(r.started).toEqual([a, b]);
    } finally {
      await r.close();
    }
  });

  test('shutdown() counts the running jobs it leaves, not the waiting ones it drops; Store.stopInstance hands them all back', async () => {
    const instance = { host: 'box', pidScope: 'boot/pid:[1]', pid: 100, startedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString() };
    // The running jobs finish within the grace period: only the two waiting are left.
    const r = await rig({ concurrency: 2, owner: 'instance-1' });
    try {
      await r.store.registerInstance({ id: 'instance-1', ...instance });
      const [a, b, c, d] = (await r.accept('a', 'b', 'c', 'd')).map((j) => j.id) as [number, number, number, number];
      await until('two jobs started', () => r.started.length === 2);
      const shutting = r.worker.shutdown(60_000);
      r.finish(a);
      r.finish(b);
      expect(await shutting).toBe(0);
      expect(r.started).toEqual([a, b]);
      expect(await r.store.stopInstance('instance-1', new Date().toISOString())).toBe(2);
      for (const id of [c, d]) expect(await r.store.getJob(id)).toMatchObject({ state: 'pending', leaseOwner: null });
    } finally {
      await r.close();
    }
    // The running jobs outlast the grace period (nothing finishes them): aborted and counted; the two waiting are handed back uncounted.
    const s = await rig({ concurrency: 2, owner: 'instance-2' });
    try {
      await s.store.registerInstance({ id: 'instance-2', ...instance });
      await s.accept('a', 'b', 'c', 'd');
      await until('two jobs started', () => s.started.length === 2);
      expect(await s.worker.shutdown(1)).toBe(2);
      expect(s.started).toHaveLength(2);
      expect(await s.store.stopInstance('instance-2', new Date().toISOString())).toBe(4);
    } finally {
      await s.close();
    }
  });

  test('jobs that arrive only by intake cause no claim after the first empty one, and finish through the inbox’s commits', async () => {
    const r = await rig({ concurrency: 2, held: false, completeViaInbox: true });
    try {
      for (const burst of [1, 2, 3]) {
        await r.accept(...Array.from({ length: 4 }, (_, i) => `burst-${burst}-${i}`));
        await until(`burst ${burst} done`, async () => (await r.store.listJobs({ state: 'done' })).length === burst * 4);
      }
      // Let whatever the last finished job set off run (a claim would be a turn or two away).
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(r.started).toHaveLength(12);
      expect(r.claims.calls).toBe(1);
      expect(r.completeJobsCalls()).toBe(0);
      // A kick (a job enqueued elsewhere) does claim again.
      r.worker.kick();
      await until('the claim after the kick', () => r.claims.calls === 2);
    } finally {
      await r.close();
    }
  });
});
