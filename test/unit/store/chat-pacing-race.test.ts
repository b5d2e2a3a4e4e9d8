import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { type TestDatabase, createTestDatabase, freshStore, postgresReachable } from './pg-test-db.js';
import { typescriptChildExecArgv } from './typescript-child.js';

/**
 * Several Deckhand processes posting into one Slack channel share its pace through
 * Store.reserveChatSlot: of concurrent reservations from separate OS processes (better-sqlite3 is
 * synchronous, so stores in one process only take turns), no two get the same slot. The children
 * load the TypeScript sources as claim-race.ts does.
 */

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The child: on "go", reserves `count` slots of C1 (all with the same `now`) and reports them. */
const childSource = `
const [storeUrl, dbPath, exportName, count, now] = process.argv.slice(2);
const store = new (await import(storeUrl))[exportName](dbPath);
await store.ping();
process.once('message', async () => {
  const slots = [];
  try {
    for (let i = 0; i < Number(count); i++) slots.push(await store.reserveChatSlot('slack', 'C1', now, 1000));
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

async function raceReservations(dbPath: string, processes: number, storeClass: { module: string; exportName: string }): Promise<RaceResult[]> {
  const workDir = mkdtempSync(join(tmpdir(), 'deckhand-pacing-race-'));
  try {
    const execArgv = typescriptChildExecArgv(workDir);
    writeFileSync(join(workDir, 'child.mjs'), childSource);
    const storeUrl = pathToFileURL(join(projectRoot, storeClass.module)).href;
    const children = Array.from({ length: processes }, () =>
      fork(join(workDir, 'child.mjs'), [storeUrl, dbPath, storeClass.exportName, String(PER_CHILD), now], {
        execArgv,
        env: { ...process.env, NODE_OPTIONS: '' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    const nextMessage = (child: (typeof children)[number]) =>
      new Promise<RaceResult>((resolve, reject) => {
        child.once('message', (message) => resolve(message as RaceResult));
        child.once('exit', (code) => reject(new Error(`race child exited early with code ${code}`)));
      });
    await Promise.all(children.map(nextMessage));
    const results = children.map(nextMessage);
    for (const child of children) child.send('go');
    return await Promise.all(results);
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

const itPg = (await postgresReachable()) ? it : it.skip;

describe('reserveChatSlot raced by separate processes: one slot each', () => {
  it('SQLite (4 processes on one file, 200 reservations)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deckhand-pacing-sqlite-'));
    try {
      const path = join(dir, 'deckhand.db');
      const seed = new SqliteStore(path);
      await seed.migrate();
      expectEverySlotOnce(await raceReservations(path, 4, { module: 'src/store/sqlite/sqlite-store.ts', exportName: 'SqliteStore' }), 4);
      await seed.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  itPg('PostgreSQL (4 processes, 200 reservations)', async () => {
    db = await createTestDatabase('pacing');
    const seed = await freshStore(db);
    try {
      expectEverySlotOnce(await raceReservations(db.url, 4, { module: 'src/store/postgres/postgres-store.ts', exportName: 'PostgresStore' }), 4);
    } finally {
      await seed.close();
    }
  });
});
