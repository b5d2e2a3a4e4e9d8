/**
 * The SQLite file behind DATABASE_URL: seeding it with stored deliveries before Deckhand starts,
 * and measuring it (bytes on disk, deliveries held) after Deckhand stopped.
 */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/open-store.js';
import { githubHeaders } from './payloads.js';

/** Bytes of the database, its WAL and shared-memory file together. */
export function databaseBytes(file: string): number {
  return ['', '-wal', '-shm'].reduce((sum, suffix) => sum + (existsSync(file + suffix) ? statSync(file + suffix).size : 0), 0);
}

export function countDeliveries(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * Creates the database with Deckhand's own migrations (openStore), then adds `count` GitHub
 * deliveries as Deckhand stores them — the same body and kept headers as the load sends, each
 * with its job, done — as history that a long-running Deckhand has accumulated. Inserted in SQL
 * (a recursive CTE, 20,000 rows per transaction) with the journal off: that is only the seeding;
 * Deckhand opens the file afterwards in WAL mode as always.
 */
export async function seedDeliveries(file: string, count: number, body: string, onProgress?: (done: number) => void): Promise<{ seconds: number }> {
  const started = performance.now();
  const store = await openStore(`sqlite:${file}`);
  await store.close();
  if (count === 0) return { seconds: 0 };
  const db = new Database(file);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    const compact = JSON.stringify(JSON.parse(body));
    // What the route keeps of the request's headers: all but the signature.
    const { 'x-hub-signature-256': _signature, ...kept } = githubHeaders('seeded', 'sha256=seeded');
    const headers = JSON.stringify(kept);
    const deliveries = db.prepare(`
      INSERT INTO deliveries (source, delivery_id, received_at, content_type, headers, query, body)
      WITH RECURSIVE n(i) AS (SELECT @from UNION ALL SELECT i + 1 FROM n WHERE i < @to)
      SELECT 'github', 'seeded-' || i, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (@to - i) || ' seconds'), 'application/json', replace(@headers, '"seeded"', '"seeded-' || i || '"'), '{}', @body FROM n`);
    const jobs = db.prepare(`
      INSERT INTO jobs (type, payload, state, attempts, max_attempts, run_at, created_at, finished_at)
      SELECT 'github', json_object('deliveryId', id), 'done', 1, 8, received_at, received_at, received_at FROM deliveries WHERE id > @after`);
    const batch = 20_000;
    for (let from = 1; from <= count; from += batch) {
      const to = Math.min(count, from + batch - 1);
      db.transaction(() => {
        const after = (db.prepare('SELECT coalesce(max(id), 0) AS m FROM deliveries').get() as { m: number }).m;
        deliveries.run({ from, to, headers, body: compact });
        jobs.run({ after });
      })();
      onProgress?.(to);
    }
  } finally {
    db.pragma('journal_mode = WAL');
    db.close();
  }
  return { seconds: (performance.now() - started) / 1000 };
}
