import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('SQLite WAL checkpoints on their own thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-ckpt-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const batch = (from: number, n: number, body: string) =>
    Array.from({ length: n }, (_, i) => ({
      delivery: { source: 'github', deliveryId: `d-${from + i}`, receivedAt: new Date().toISOString(), contentType: 'application/json', headers: {}, query: {}, body: JSON.parse(body) as unknown },
      job: { type: 'github', runAt: new Date().toISOString() },
      bodyText: body,
    }));

  test('once deliveries arrive, the thread copies the log into the database file while the main connection does not', async () => {
    const file = path.join(dir, 'deckhand.db');
    const store = new SqliteStore(file);
    await store.migrate();
    const db = (store as unknown as { db: { pragma(sql: string, o?: { simple: boolean }): unknown } }).db;
    const body = JSON.stringify({ text: 'x'.repeat(20_000) });
    await store.acceptDeliveries(batch(0, 1, body));
    // The thread is up: the main connection's own threshold moved out of the way (16,384 pages).
    for (let i = 0; i < 200 && db.pragma('wal_autocheckpoint', { simple: true }) !== 16_384; i++) await new Promise((r) => setTimeout(r, 10));
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(16_384);
    const before = statSync(file).size;
    // ~4 MB of bodies: far below the main connection's threshold, so only the thread can have checkpointed.
    for (let i = 1; i < 200; i += 10) await store.acceptDeliveries(batch(i, 10, body));
    let after = statSync(file).size;
    for (let i = 0; i < 300 && after < before + 3_000_000; i++) {
      await new Promise((r) => setTimeout(r, 10));
      after = statSync(file).size;
    }
    expect(after).toBeGreaterThan(before + 3_000_000);
    await store.close();
    // Everything is there after the thread's last checkpoint and the close.
    const again = new SqliteStore(file);
    expect((await again.listJobs({ limit: 500 })).filter((j) => j.type === 'github')).toHaveLength(201);
    expect((await again.getDelivery(201))?.deliveryId).toBe('d-200');
    await again.close();
  });

  test('the thread never keeps a process alive: one that never closes its store still exits', () => {
    const script = `
      import { SqliteStore } from ${JSON.stringify(path.join(root, 'dist/src/store/sqlite/sqlite-store.js'))};
      const store = new SqliteStore(${JSON.stringify(path.join(dir, 'open.db'))});
      await store.migrate();
      await store.acceptDeliveries([{ delivery: { source: 's', deliveryId: '1', receivedAt: new Date().toISOString(), contentType: 'application/json', headers: {}, query: {}, body: {} }, job: { type: 'x', runAt: new Date().toISOString() }, bodyText: '{}' }]);
      await new Promise((r) => setTimeout(r, 300));
      console.log('end of script');
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stdout).toContain('end of script');
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
  });
});
