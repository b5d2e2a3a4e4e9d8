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
 * The body of a seeded delivery: the load's pull request cut down to what identifies it (action,
 * number, title, merge, refs, repository, sender), about half a kilobyte. A million full 24.6 KB
 * bodies would be a 25 GB file; what the seeded row measures is whether the cost of a delivery
 * grows with the number of rows stored, which small rows show as well (the bytes per delivery
 * come from the empty-store run's real deliveries).
 */
export function trimmedBody(body: string): string {
  const full = JSON.parse(body) as { action?: string; number?: number; pull_request?: Record<string, unknown>; repository?: Record<string, unknown>; sender?: Record<string, unknown> };
  const pr = full.pull_request ?? {};
  const ref = (side: unknown) => ({ ref: (side as { ref?: unknown })?.ref, sha: (side as { sha?: unknown })?.sha });
  return JSON.stringify({
    action: full.action,
    number: full.number,
    pull_request: { id: pr.id, number: pr.number, title: pr.title, state: pr.state, merged: pr.merged, merged_at: pr.merged_at, head: ref(pr.head), base: ref(pr.base), html_url: pr.html_url },
    repository: { id: full.repository?.id, full_name: full.repository?.full_name },
    sender: { login: full.sender?.login, id: full.sender?.id },
  });
}

/**
 * Creates the database with Deckhand's own migrations (openStore), then adds `count` GitHub
 * deliveries as Deckhand stores them — a trimmed body (trimmedBody), the kept headers of the load,
 * each with its job, done — as history that a long-running Deckhand has accumulated. Inserted in
 * SQL (a recursive CTE, 50,000 rows per transaction) with the journal off: that is only the
 * seeding; Deckhand opens the file afterwards in WAL mode as always.
 */
export async function seedDeliveries(file: string, count: number, fullBody: string, onProgress?: (done: number) => void): Promise<{ seconds: number; bodyBytes: number }> {
  const body = trimmedBody(fullBody);
  const started = performance.now();
  const store = await openStore(`sqlite:${file}`);
  await store.close();
  if (count === 0) return { seconds: 0, bodyBytes: Buffer.byteLength(body) };
  const db = new Database(file);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
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
    const batch = 50_000;
    for (let from = 1; from <= count; from += batch) {
      const to = Math.min(count, from + batch - 1);
      db.transaction(() => {
        const after = (db.prepare('SELECT coalesce(max(id), 0) AS m FROM deliveries').get() as { m: number }).m;
        deliveries.run({ from, to, headers, body });
        jobs.run({ after });
      })();
      onProgress?.(to);
    }
  } finally {
    db.pragma('journal_mode = WAL');
    db.close();
  }
  return { seconds: (performance.now() - started) / 1000, bodyBytes: Buffer.byteLength(body) };
}
