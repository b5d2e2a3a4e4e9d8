import type { JobTypeStats } from '../types.js';
import type { Prepare } from './approvals.js';

/**
 * The live queue by type (Store.jobStats). The WHERE is the jobs_due partial index's own, so only
 * pending and running rows are read, however many done and dead jobs the table keeps.
 */
export function jobStatsByType(prepare: Prepare, now: string): JobTypeStats[] {
  const rows = prepare(`
    SELECT type,
      SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
      SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running,
      MIN(CASE WHEN state = 'pending' AND run_at <= @now THEN run_at END) AS oldest_due_at
    FROM jobs INDEXED BY jobs_due
    WHERE state IN ('pending', 'running')
    GROUP BY type
    ORDER BY type`).all({ now }) as Array<{ type: string; pending: number; running: number; oldest_due_at: string | null }>;
  return rows.map((r) => ({ type: r.type, pending: r.pending, running: r.running, oldestDueAt: r.oldest_due_at }));
}
