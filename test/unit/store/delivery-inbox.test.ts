import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode } from '../../../src/core/errors.js';
import type { NewDelivery } from '../../../src/core/model.js';
import { DeliveryInbox } from '../../../src/store/delivery-inbox.js';
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

/** The store, with the size of every batch it was given. */
function counted(store: Store): { batches: number[]; target: Pick<Store, 'acceptDeliveries'> } {
  const batches: number[] = [];
  return {
    batches,
    target: {
      acceptDeliveries: (items) => {
        batches.push(items.length);
        return store.acceptDeliveries(items);
      },
    },
  };
}

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
