import type { JobTypeStats } from '../types.js';
import type { Sql } from './db.js';

/**
 * The live queue by type (Store.jobStats), as SQLite's (src/store/sqlite/job-stats.ts). The WHERE
 * is the jobs_due partial index's own: done and dead jobs are never read.
 */
export async function jobStatsByType(sql: Sql, now: string): Promise<JobTypeStats[]> {
  const rows = await sql.rows<{ type: string; pending: number; running: number; oldest_due_at: string | null }>(
    `SELECT type,
       (COUNT(*) FILTER (WHERE state = 'pending'))::int AS pending,
       (COUNT(*) FILTER (WHERE state = 'running'))::int AS running,
       MIN(run_at) FILTER (WHERE state = 'pending' AND run_at <= $1::timestamptz) AS oldest_due_at
     FROM jobs
     WHERE state IN ('pending', 'running')
     GROUP BY type
     ORDER BY type`,
    [now],
  );
  return rows.map((r) => ({ type: r.type, pending: r.pending, running: r.running, oldestDueAt: r.oldest_due_at }));
}
