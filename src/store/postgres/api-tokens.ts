import type { ApiToken } from '../../core/model.js';
import type { Sql } from './db.js';
import { toJson } from './rows.js';

/** REST API tokens of the PostgreSQL store: the same liveness rule as SQLite's (src/store/sqlite/api-tokens.ts). */

interface ApiTokenRow {
  hash: string;
  actor: string;
  scopes: string[];
  created_at: string;
  expires_at: string;
  job_id: number | null;
  job_attempt: number | null;
}

/**
 * A token bound to a run is live only while that run is: its job is running the same attempt
 * under a lease that has not lapsed ($now is the statement's parameter named `now`).
 */
const runIsLive = (t: string, now: string) => `(${t}.job_id IS NULL OR EXISTS (
  SELECT 1 FROM jobs j WHERE j.id = ${t}.job_id AND j.state = 'running' AND j.attempts = ${t}.job_attempt AND j.lease_expires_at > ${now}))`;

const toApiToken = (r: ApiTokenRow): ApiToken => ({
  hash: r.hash,
  actor: r.actor,
  scopes: r.scopes,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  run: r.job_id === null ? null : { jobId: r.job_id, attempt: r.job_attempt ?? 0 },
});

export async function insertApiToken(sql: Sql, t: ApiToken): Promise<void> {
  await sql.run(
    'INSERT INTO api_tokens (hash, actor, scopes, created_at, expires_at, job_id, job_attempt) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [t.hash, t.actor, toJson(t.scopes), t.createdAt, t.expiresAt, t.run?.jobId ?? null, t.run?.attempt ?? null],
  );
}

export async function liveApiToken(sql: Sql, hash: string, now: string): Promise<ApiToken | null> {
  const row = await sql.row<ApiTokenRow>(`SELECT * FROM api_tokens t WHERE t.hash = $1 AND t.expires_at > $2 AND ${runIsLive('t', '$2')}`, [hash, now]);
  return row ? toApiToken(row) : null;
}

export async function deleteApiToken(sql: Sql, hash: string): Promise<void> {
  await sql.run('DELETE FROM api_tokens WHERE hash = $1', [hash]);
}

/** Deletes every token that could no longer be used: expired, or its run is over. */
export async function deleteDeadApiTokens(sql: Sql, now: string): Promise<number> {
  return sql.run(`DELETE FROM api_tokens WHERE expires_at <= $1 OR NOT ${runIsLive('api_tokens', '$1')}`, [now]);
}
