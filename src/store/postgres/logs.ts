import type { LogLine } from '../../core/model.js';
import type { Sql } from './db.js';

/** Deployment output of the PostgreSQL store. */

/** Appends lines in one statement; a repeated (deployment, seq) is ignored, so a retried batch cannot double lines. */
export async function appendLogLines(sql: Sql, deploymentId: number, lines: readonly LogLine[]): Promise<void> {
  if (lines.length === 0) return;
  await sql.run(
    `INSERT INTO deployment_logs (deployment_id, seq, stream, line, at)
     SELECT $1::bigint, * FROM unnest($2::integer[], $3::text[], $4::text[], $5::timestamptz[])
     ON CONFLICT (deployment_id, seq) DO NOTHING`,
    [deploymentId, lines.map((l) => l.seq), lines.map((l) => l.stream), lines.map((l) => l.line), lines.map((l) => l.at)],
  );
}

export async function readLogLines(sql: Sql, deploymentId: number, limit: number): Promise<LogLine[]> {
  return sql.rows<LogLine>('SELECT seq, stream, line, at FROM deployment_logs WHERE deployment_id = $1 ORDER BY seq LIMIT $2', [deploymentId, limit]);
}
