import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { type TestDatabase, createTestDatabase, freshStore, postgresReachable } from './pg-test-db.js';
import { raceInChildren } from './claim-race.js';

/**
 * Several Deckhand processes posting into one Slack channel share its pace through
 * Store.reserveChatSlot (the generic cell rate algorithm): of concurrent reservations from separate
 * OS processes (better-sqlite3 is synchronous, so stores in one process only take turns), no window
 * of length W holds more than burst + floor(W / interval) slots — burst 1: no two get the same slot.
 * The children load the TypeScript sources as claim-race.ts does.
 */


/**
 * The child: on "go", reserves `count` slots of C1 and reports them; its k-th reservation is made
 * at now + k × step (step 0: all at the same now).
 */
const childSource = `
const [storeUrl, dbPath, exportName, count, now, burst, step] = process.argv.slice(2);
const store = new (await import(storeUrl))[exportName](dbPath);
await store.ping();
process.once('message', async () => {
  const slots = [];
  try {
    for (let i = 0; i < Number(count); i++) {
      const at = new Date(Date.parse(now) + i * Number(step)).toISOString();
      slots.push(await store.reserveChatSlot('slack', 'C1', at, 1000, Number(burst)));
    }
    process.send({ slots });
  } catch (err) {
    process.send({ error: String(err && err.stack || err) });
  }
  await store.close();
  process.disconnect();
});
process.send({ ready: true });
`;

interface RaceResult {
  slots: string[];
  error?: string;
}

const now = '2025-01-01T12:00:00.000Z';
const PER_CHILD = 50;

interface Race {
  burst: number;
  /** Milliseconds between one child's reservations' `now`. */
  stepMs: number;
}

async function raceReservations(dbPath: string, processes: number, storeClass: { module: string; exportName: string }, race: Race = { burst: 1, stepMs: 0 }): Promise<RaceResult[]> {
  const workDir = mkdtempSync(join(tmpdir(), 'deckhand-pacing-race-'));
  try {
    return await raceInChildren<RaceResult>(workDir, childSource, dbPath, processes, storeClass, [String(PER_CHILD), now, String(race.burst), String(race.stepMs)]);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Every slot once: now, now + 1 s, ... — no two processes ever got the same one, none skipped. */
function expectEverySlotOnce(results: RaceResult[], processes: number): void {
  expect(results.map((r) => r.error)).toEqual(Array.from({ length: processes }, () => undefined));
  const slots = results.flatMap((r) => r.slots).sort();
  expect(slots).toEqual(Array.from({ length: processes * PER_CHILD }, (_, k) => new Date(Date.parse(now) + k * 1000).toISOString()));
  // And each process's own slots come in order: it never waits for an earlier slot than its last.
  for (const r of results) expect([...r.slots].sort()).toEqual(r.slots);
}

/**
 * The most slots any window [a, b] holds beyond floor((b − a) / 1 s): GCRA with burst B keeps this at
 * most B (B slots at once, then one per interval).
 */
function worstExcess(results: RaceResult[]): number {
  const ms = results.flatMap((r) => r.slots.map((s) => Date.parse(s))).sort((x, y) => x - y);
  let worst = 0;
  for (let i = 0; i < ms.length; i++) {
    for (let j = i; j < ms.length; j++) worst = Math.max(worst, j - i + 1 - Math.floor(((ms[j] as number) - (ms[i] as number)) / 1000));
  }
  return worst;
}

/** Burst 3, every reservation at the same now: three slots at now, then one per second, none skipped. */
function expectBurstThenPace(results: RaceResult[], processes: number): void {
  expect(results.map((r) => r.error)).toEqual(Array.from({ length: processes }, () => undefined));
  const slots = results.flatMap((r) => r.slots).sort();
  expect(slots).toEqual([now, now, ...Array.from({ length: processes * PER_CHILD - 2 }, (_, k) => new Date(Date.parse(now) + k * 1000).toISOString())]);
  expect(worstExcess(results)).toBe(3);
  for (const r of results) expect([...r.slots].sort()).toEqual(r.slots);
}

/**
 * Burst 3, each process asking again and again with a clock moving on 300 ms per reservation (four
 * together ask ~13 times a second; some slots are now, some later): the GCRA bound holds across
 * processes, each process's slots come in order, and the channel is never idle past a due slot —
 * the last slot is exactly where one per second from the first leads (less the burst).
 */
function expectGcraBound(results: RaceResult[], processes: number): void {
  expect(results.map((r) => r.error)).toEqual(Array.from({ length: processes }, () => undefined));
  expect(worstExcess(results)).toBeLessThanOrEqual(3);
  for (const r of results) expect([...r.slots].sort()).toEqual(r.slots);
  const slots = results.flatMap((r) => r.slots).sort();
  expect(slots).toHaveLength(processes * PER_CHILD);
  expect(slots[0]).toBe(now);
  expect(slots.at(-1)).toBe(new Date(Date.parse(now) + (processes * PER_CHILD - 3) * 1000).toISOString());
}

const sqliteStore = { module: 'src/store/sqlite/sqlite-store.ts', exportName: 'SqliteStore' };
const postgresStore = { module: 'src/store/postgres/postgres-store.ts', exportName: 'PostgresStore' };

const itPg = (await postgresReachable()) ? it : it.skip;

describe('reserveChatSlot raced by separate processes: the GCRA bound holds across them', () => {
  async function onSqlite<T>(body: (path: string) => Promise<T>): Promise<T> {
    const dir = mkdtempSync(join(tmpdir(), 'deckhand-pacing-sqlite-'));
    try {
      const path = join(dir, 'deckhand.db');
      const seed = new SqliteStore(path);
      await seed.migrate();
      try {
        return await body(path);
      } finally {
        await seed.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('SQLite, burst 1 (4 processes on one file, 200 reservations): one slot each', async () => {
    await onSqlite(async (path) => expectEverySlotOnce(await raceReservations(path, 4, sqliteStore), 4));
  });

  it('SQLite, burst 3, one now: three slots at now, then one a second', async () => {
    await onSqlite(async (path) => expectBurstThenPace(await raceReservations(path, 4, sqliteStore, { burst: 3, stepMs: 0 }), 4));
  });

  it('SQLite, burst 3, clocks moving on: never more than 3 + floor(W / 1 s) slots in a window W', async () => {
    await onSqlite(async (path) => expectGcraBound(await raceReservations(path, 4, sqliteStore, { burst: 3, stepMs: 300 }), 4));
  });

  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });
  async function onPostgres<T>(body: (url: string) => Promise<T>): Promise<T> {
    const db = await createTestDatabase('pacing');
    dbs.push(db);
    const seed = await freshStore(db);
    try {
      return await body(db.url);
    } finally {
      await seed.close();
    }
  }

  itPg('PostgreSQL, burst 1 (4 processes, 200 reservations): one slot each', async () => {
    await onPostgres(async (url) => expectEverySlotOnce(await raceReservations(url, 4, postgresStore), 4));
  });

  itPg('PostgreSQL, burst 3, one now: three slots at now, then one a second', async () => {
    await onPostgres(async (url) => expectBurstThenPace(await raceReservations(url, 4, postgresStore, { burst: 3, stepMs: 0 }), 4));
  });

  itPg('PostgreSQL, burst 3, clocks moving on: never more than 3 + floor(W / 1 s) slots in a window W', async () => {
    await onPostgres(async (url) => expectGcraBound(await raceReservations(url, 4, postgresStore, { burst: 3, stepMs: 300 }), 4));
  });
});
