import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PendingConfirmation } from '../../../src/core/model.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../../src/store/types.js';
import { type TestDatabase, createTestDatabase, freshStore, postgresReachable } from './pg-test-db.js';
import { raceInChildren } from './claim-race.js';

/**
 * A duplicated "yes" reaching several Deckhand processes at once must run the command once: of
 * concurrent Store.takeConfirmation calls for one question, exactly one gets it. Raced here across
 * real OS processes (better-sqlite3 is synchronous, so two stores in one process only take turns),
 * on SQLite and on PostgreSQL. The children load the TypeScript sources through a loader hook
 * that transpiles them with the project's own `typescript`, as claim-race.ts does.
 */


/** The child: on "go", takes every key, in an order of its own, and reports the ones it got. */
const childSource = `
const [storeUrl, dbPath, exportName, keysJson, now] = process.argv.slice(2);
const store = new (await import(storeUrl))[exportName](dbPath);
await store.ping();
process.once('message', async () => {
  const taken = [];
  try {
    // Each child its own order, so they collide all along rather than one running ahead of the rest.
    const order = JSON.parse(keysJson).map((key) => [Math.random(), key]).sort((x, y) => x[0] - y[0]).map(([, key]) => key);
    for (const key of order) {
      const confirmation = await store.takeConfirmation(key, now);
      if (confirmation) taken.push(confirmation.key);
    }
    process.send({ taken });
  } catch (err) {
    process.send({ error: String(err && err.stack || err) });
  }
  await store.close();
  process.disconnect();
});
process.send({ ready: true });
`;

interface TakeResult {
  taken: string[];
  error?: string;
}

const at = (minutes: number): string => new Date(Date.UTC(2025, 0, 1, 12, minutes)).toISOString();
const keys = Array.from({ length: 400 }, (_, i) => JSON.stringify(['slack', `U${i}`, 'C1']));
const question = (key: string): PendingConfirmation => ({ key, command: 'deploy', text: 'deploy web to prod', createdAt: at(0), expiresAt: at(2) });

/** Puts one question per key, starts `processes` children on the same database, releases them together. */
async function raceTakes(seed: Store, dbPath: string, processes: number, storeClass: { module: string; exportName: string }): Promise<TakeResult[]> {
  for (const key of keys) await seed.putConfirmation(question(key));
  const workDir = mkdtempSync(join(tmpdir(), 'deckhand-confirm-race-'));
  try {
    return await raceInChildren<TakeResult>(workDir, childSource, dbPath, processes, storeClass, [JSON.stringify(keys), at(1)]);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function expectEachTakenOnce(results: TakeResult[], processes: number): void {
  expect(results.map((r) => r.error)).toEqual(Array.from({ length: processes }, () => undefined));
  const taken = results.flatMap((r) => r.taken);
  expect([...taken].sort()).toEqual([...keys].sort()); // each question exactly once: none twice, none lost
}

// Locally without PostgreSQL: skipped, as in postgres-store.test.ts.
const itPg = (await postgresReachable()) ? it : it.skip;

describe('takeConfirmation raced by separate processes: one winner per question', () => {
  it('SQLite (4 processes on one file, 400 questions)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deckhand-confirm-sqlite-'));
    try {
      const path = join(dir, 'deckhand.db');
      const seed = new SqliteStore(path);
      await seed.migrate();
      const results = await raceTakes(seed, path, 4, { module: 'src/store/sqlite/sqlite-store.ts', exportName: 'SqliteStore' });
      expectEachTakenOnce(results, 4);
      expect(await seed.takeConfirmation(keys[0]!, at(1))).toBeNull();
      await seed.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  itPg('PostgreSQL (4 processes, 400 questions)', async () => {
    db = await createTestDatabase('confirm');
    const seed = await freshStore(db);
    try {
      const results = await raceTakes(seed, db.url, 4, { module: 'src/store/postgres/postgres-store.ts', exportName: 'PostgresStore' });
      expectEachTakenOnce(results, 4);
    } finally {
      await seed.close();
    }
  });

  itPg('PostgreSQL, in one process: four stores (four pools) taking each question at once (30 rounds)', async () => {
    db ??= await createTestDatabase('confirm');
    const seed = await freshStore(db);
    const racers = await Promise.all(Array.from({ length: 4 }, async () => new PostgresStore(db!.url)));
    try {
      await Promise.all(racers.map((s) => Promise.all([s.ping(), s.ping()])));
      for (let round = 0; round < 30; round++) {
        await seed.putConfirmation(question(`round${round}`));
        const taken = await Promise.all(racers.map((s) => s.takeConfirmation(`round${round}`, at(1))));
        expect(taken.filter((t) => t !== null)).toEqual([question(`round${round}`)]);
      }
    } finally {
      await Promise.all([seed, ...racers].map((s) => s.close()));
    }
  });
});
