import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode } from '../../../src/core/errors.js';
import type { Job, NewDelivery } from '../../../src/core/model.js';
import { DeliveryInbox, type IntakeRunner } from '../../../src/store/delivery-inbox.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { AcceptedDelivery, DeliveryToAccept, Store } from '../../../src/store/types.js';
import { type TestDatabase, createTestDatabase, freshStore, postgresReachable } from './pg-test-db.js';

/**
 * Group commit: what DeliveryInbox hands the store, and what each caller gets back. Real stores
 * (SQLite on a file, PostgreSQL), counted by wrapping acceptDeliveries; no timing is asserted —
 * "the same turn" is the same synchronous stretch of code, "in flight" is a batch not yet resolved.
 */

const delivery = (deliveryId: string): NewDelivery => ({
  source: 'github',
  deliveryId,
  receivedAt: '2025-01-01T12:00:00.000Z',
  contentType: 'application/json',
  headers: { 'x-github-delivery': deliveryId },
  query: {},
  body: { n: deliveryId },
});
const item = (deliveryId: string): DeliveryToAccept => ({ delivery: delivery(deliveryId), job: { type: 'github', runAt: '2025-01-01T12:00:00.000Z' }, bodyText: JSON.stringify({ n: deliveryId }) });

/** The store, with the size of every batch it was given (and of the job completions that came with it). */
function counted(store: Store): { batches: number[]; completions: number[]; target: Pick<Store, 'acceptDeliveries'> } {
  const batches: number[] = [];
  const completions: number[] = [];
  return {
    batches,
    completions,
    target: {
      acceptDeliveries: (items, done = []) => {
        batches.push(items.length);
        completions.push(done.length);
        return store.acceptDeliveries(items, done);
      },
    },
  };
}

/** By the runner's clock: jobs due at `now` (item()'s runAt) are due, a later one is not. */
const now = '2025-01-01T12:00:00.000Z';
const later = '2025-01-01T12:05:00.000Z';
const expiresAt = '2025-01-01T12:10:00.000Z';

/** An IntakeRunner that records what the inbox asks and hands it; `grant` decides how many slots reserve() gives. */
class RecordingRunner implements IntakeRunner {
  readonly owner = 'intake-worker';
  readonly wanted: number[] = [];
  readonly adopted: Array<{ jobs: Job[]; reserved: number }> = [];
  leases = 0;
  constructor(
    private readonly grant: (wanted: number) => number,
    private readonly types: readonly string[] = ['github'],
  ) {}
  lease(): { owner: string; now: string; expiresAt: string } {
    this.leases += 1;
    return { owner: this.owner, now, expiresAt };
  }
  runs(type: string): boolean {
    return this.types.includes(type);
  }
  reserve(wanted: number): number {
    this.wanted.push(wanted);
    return this.grant(wanted);
  }
  adopt(jobs: Job[], reserved: number): void {
    this.adopted.push({ jobs, reserved });
  }
}

const withJob = (deliveryId: string, job: Partial<DeliveryToAccept['job']>): DeliveryToAccept => {
  const base = item(deliveryId);
  return { ...base, job: { ...base.job, ...job } };
};

function behavesAsGroupCommit(name: string, open: () => Promise<Store>): void {
  describe(`DeliveryInbox on ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => store.close());

    it('stores everything handed in during one turn in one transaction; each caller gets its own id, and a repeated id is one delivery', async () => {
      const { batches, target } = counted(store);
      const inbox = new DeliveryInbox(target);
      const ids = ['a', 'b', 'c', 'b', 'd', 'a', 'e'];
      const results = await Promise.all(ids.map((id) => inbox.accept(item(id))));
      expect(batches).toEqual([7]);
      expect(results.map((r) => r.duplicate)).toEqual([false, false, false, true, false, true, false]);
      expect(results[3]?.id).toBe(results[1]?.id);
      expect(results[5]?.id).toBe(results[0]?.id);
      expect(new Set(results.map((r) => r.id)).size).toBe(5);
      for (const [i, r] of results.entries()) expect((await store.getDelivery(r.id))?.deliveryId).toBe(ids[i]);
      expect(await store.listJobs()).toHaveLength(5);
    });

    it('what arrives while a batch is being committed goes into the next one, and a later redelivery is a duplicate', async () => {
      const { batches, target } = counted(store);
      const inbox = new DeliveryInbox(target);
      const first = ['x1', 'x2', 'x3'].map((id) => inbox.accept(item(id)));
      // The first batch starts at the end of this turn; these come while it is in flight (or
      // queued behind it), never in it.
      await new Promise((r) => setImmediate(r));
      const second = ['x4', 'x1', 'x5'].map((id) => inbox.accept(item(id)));
      const results = await Promise.all([...first, ...second]);
      expect(batches).toEqual([3, 3]);
      expect(results.map((r) => r.duplicate)).toEqual([false, false, false, false, true, false]);
      expect(await store.listJobs()).toHaveLength(5);
    });

    it('a batch that fails fails every caller in it with the error, stores none of it, and the next batch is stored', async () => {
      const failing = new DeliveryInbox({
        // The real transaction, made to fail by its last item (a job without a type: NOT NULL).
        acceptDeliveries: (items) => store.acceptDeliveries([...items, { ...item('poison'), job: { type: null as unknown as string, runAt: '2025-01-01T12:00:00.000Z' } }]),
      });
      const outcomes = await Promise.allSettled(['f1', 'f2', 'f3'].map((id) => failing.accept(item(id))));
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(await store.listJobs()).toEqual([]);
      const inbox = new DeliveryInbox(store);
      const again = await Promise.all(['f1', 'f2', 'f3'].map((id) => inbox.accept(item(id))));
      expect(again.map((r: AcceptedDelivery) => r.duplicate)).toEqual([false, false, false]);
    });

    it('without a runner every new delivery is queued (a pending job stored); a duplicate is not, nor a job done at intake', async () => {
      const inbox = new DeliveryInbox(store);
      const [a, b, again, quiet] = await Promise.all([inbox.accept(item('q1')), inbox.accept(item('q2')), inbox.accept(item('q1')), inbox.accept(withJob('q3', { doneAtIntake: true }))]);
      expect([a, b, again, quiet].map((r) => [r.duplicate, r.queued, r.job])).toEqual([
        [false, true, undefined],
        [false, true, undefined],
        [true, false, undefined],
        [false, false, undefined],
      ]);
      expect((await store.listJobs()).map((j) => j.state).sort()).toEqual(['done', 'pending', 'pending']);
    });

    it('claim at intake: reserve is asked for the due jobs of handled types; the first `reserved` of them are inserted leased, and only the new ones are adopted', async () => {
      const [earlier] = await store.acceptDeliveries([item('c0')]);
      const runner = new RecordingRunner((wanted) => wanted - 1);
      const inbox = new DeliveryInbox(store);
      inbox.runJobsWith(runner);
      const results = await Promise.all([
        inbox.accept(item('c0')), // a duplicate: eligible as far as the inbox knows, leased, but no job comes back
        inbox.accept(withJob('c1', { type: 'octopus' })), // not a type the runner runs
        inbox.accept(withJob('c2', { runAt: later })), // not due yet
        inbox.accept(withJob('c3', { doneAtIntake: true })), // nothing to run
        inbox.accept(item('c4')),
        inbox.accept(item('c5')),
        inbox.accept(item('c6')), // eligible, but past the 3 slots reserved
      ]);
      expect(runner.wanted).toEqual([4]);
      expect(runner.leases).toBe(1);
      const [dup, other, notDue, quiet, c4, c5, c6] = results;
      expect(dup).toEqual({ id: earlier!.id, duplicate: true, queued: false });
      expect(results.map((r) => r.queued)).toEqual([false, true, true, false, false, false, true]);
      expect(results.map((r) => r.job !== undefined)).toEqual([false, false, false, false, true, true, false]);
      expect(runner.adopted).toHaveLength(1);
      expect(runner.adopted[0]?.reserved).toBe(3);
      expect(runner.adopted[0]?.jobs).toEqual([c4!.job, c5!.job]);
      for (const r of [c4, c5]) {
        expect(r!.job).toMatchObject({ type: 'github', state: 'running', attempts: 1, leaseOwner: runner.owner, leaseExpiresAt: expiresAt, payload: { deliveryId: r!.id } });
        expect(await store.getJob(r!.job!.id)).toEqual(r!.job);
      }
      const stateOf = async (deliveryId: number) => (await store.listJobs()).filter((j) => (j.payload as { deliveryId: number }).deliveryId === deliveryId).map((j) => [j.state, j.leaseOwner]);
      expect(await stateOf(earlier!.id)).toEqual([['pending', null]]);
      for (const r of [other, notDue, c6]) expect(await stateOf(r!.id)).toEqual([['pending', null]]);
      expect(await stateOf(quiet!.id)).toEqual([['done', null]]);
      // Another worker claims what stayed pending and is due, and nothing leased to the runner.
      expect((await store.claimJobs('elsewhere', now, 60_000, 10)).map((j) => (j.payload as { deliveryId: number }).deliveryId).sort((x, y) => x - y)).toEqual([earlier!.id, other!.id, c6!.id].sort((x, y) => x - y));
    });

    it('claim at intake: nothing eligible asks for nothing; a runner with no free slot leaves every job pending and is handed nothing', async () => {
      const idle = new RecordingRunner(() => 0);
      const inbox = new DeliveryInbox(store);
      inbox.runJobsWith(idle);
      await Promise.all([inbox.accept(withJob('n1', { type: 'octopus' })), inbox.accept(withJob('n2', { doneAtIntake: true }))]);
      expect(idle.wanted).toEqual([]);
      const full = await Promise.all([inbox.accept(item('n3')), inbox.accept(item('n4'))]);
      expect(idle.wanted).toEqual([2]);
      expect(idle.adopted).toEqual([]);
      expect(full.map((r) => [r.queued, r.job])).toEqual([
        [true, undefined],
        [true, undefined],
      ]);
      expect((await store.listJobs({ state: 'running' }))).toEqual([]);
      inbox.runJobsWith(null);
      expect((await inbox.accept(item('n5'))).queued).toBe(true);
      expect(idle.wanted).toEqual([2]);
    });

    it('complete() is committed in the same acceptDeliveries call as the deliveries of that turn, and resolves after it', async () => {
      for (const n of [1, 2, 3]) await store.enqueueJob({ type: 'x', payload: { n }, runAt: now });
      const [a, b, c] = await store.claimJobs('w1', now, 600_000, 3);
      const { batches, completions, target } = counted(store);
      const inbox = new DeliveryInbox(target);
      const turn = Promise.all([inbox.accept(item('t1')), inbox.complete({ id: a!.id, owner: 'w1', now: later }), inbox.accept(item('t2')), inbox.complete({ id: b!.id, owner: 'w1', now: later })]);
      const [t1, , t2] = await turn;
      expect(batches).toEqual([2]);
      expect(completions).toEqual([2]);
      expect([t1!.duplicate, t2!.duplicate]).toEqual([false, false]);
      for (const j of [a, b]) expect(await store.getJob(j!.id)).toMatchObject({ state: 'done', finishedAt: later, leaseOwner: null });
      // A completion alone is a call of its own, without deliveries.
      await inbox.complete({ id: c!.id, owner: 'w1', now: later });
      expect(batches).toEqual([2, 0]);
      expect(completions).toEqual([2, 1]);
      expect(await store.getJob(c!.id)).toMatchObject({ state: 'done' });
    });

    it('a batch whose deliveries fail hands the runner its reserved slots back with no jobs; its completions are committed on their own (a job that ran is not run again for another\'s fault)', async () => {
      const [job] = await Promise.all([store.enqueueJob({ type: 'x', payload: {}, runAt: now })]);
      await store.claimJobs('w1', now, 600_000, 1);
      const runner = new RecordingRunner((wanted) => wanted);
      const failing = new DeliveryInbox({
        // The real transaction, made to fail by an item added after the inbox leased the batch (a job without a type: NOT NULL).
        acceptDeliveries: (items, done) => store.acceptDeliveries(items.length > 0 ? [...items, { ...item('poison'), job: { type: null as unknown as string, runAt: now } }] : items, done),
      });
      failing.runJobsWith(runner);
      const outcomes = await Promise.allSettled([failing.accept(item('p1')), failing.accept(item('p2')), failing.complete({ id: job!.id, owner: 'w1', now: later })]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
      expect(runner.wanted).toEqual([2]);
      expect(runner.adopted).toEqual([{ jobs: [], reserved: 2 }]);
      expect(await store.getJob(job!.id)).toMatchObject({ state: 'done', leaseOwner: null });
      expect(await store.listJobs()).toHaveLength(1);
    });

    it('when the store itself fails, the completions of the batch fail with it (the job keeps its lease and runs again once it runs out)', async () => {
      const job = await store.enqueueJob({ type: 'x', payload: {}, runAt: now });
      await store.claimJobs('w1', now, 600_000, 1);
      const away = new DeliveryInbox({ acceptDeliveries: () => Promise.reject(new Error('the store is away')) });
      const outcomes = await Promise.allSettled([away.accept(item('q1')), away.complete({ id: job!.id, owner: 'w1', now: later })]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect(await store.getJob(job!.id)).toMatchObject({ state: 'running', leaseOwner: 'w1' });
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'deckhand-inbox-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
behavesAsGroupCommit('SQLite', async () => {
  const store = new SqliteStore(path.join(dir, `inbox-${++files}.db`));
  await store.migrate();
  return store;
});

test('SQLite: a batch that cannot commit (the write lock held elsewhere) answers every caller E_STORE_UNAVAILABLE, and nothing is stored', async () => {
  const file = path.join(dir, 'locked.db');
  const store = new SqliteStore(file);
  await store.migrate();
  (store as unknown as { db: Database.Database }).db.pragma('busy_timeout = 50');
  const other = new Database(file);
  other.exec('BEGIN IMMEDIATE');
  try {
    const { batches, target } = counted(store);
    const inbox = new DeliveryInbox(target);
    const outcomes = await Promise.allSettled(['l1', 'l2', 'l3', 'l4'].map((id) => inbox.accept(item(id))));
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code?: string }).code : 'stored'))).toEqual(Array(4).fill(ErrorCode.StoreUnavailable));
    expect(batches).toEqual([4]);
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  expect(await store.listJobs()).toEqual([]);
  await store.close();
});

const reachable = await postgresReachable();
(reachable ? describe : describe.skip)('PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('inbox');
  });
  afterAll(async () => db?.drop());
  behavesAsGroupCommit('PostgreSQL', () => freshStore(db) as Promise<PostgresStore>);
});
