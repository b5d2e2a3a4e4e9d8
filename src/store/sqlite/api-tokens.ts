import type { ApiToken } from '../../core/model.js';
import type { Prepare } from './approvals.js';

interface ApiTokenRow {
  hash: string;
  actor: string;
  scopes: string;
  created_at: string;
  expires_at: string;
  job_id: number | null;
  job_attempt: number | null;
}

/**
 * A token bound to a run is live only while that run is: its job is running the same attempt
 * under a lease that has not lapsed. A killed process stops renewing its lease, and a retry or a
 * take-over counts a new attempt, so either way the old run's token stops working.
 */
const runIsLive = (t: string) => `(${t}.job_id IS NULL OR EXISTS (
  SELECT 1 FROM jobs j WHERE j.id = ${t}.job_id AND j.state = 'running' AND j.attempts = ${t}.job_attempt AND j.lease_expires_at > @now))`;

const toApiToken = (r: ApiTokenRow): ApiToken => ({
  hash: r.hash,
  actor: r.actor,
  scopes: JSON.parse(r.scopes) as string[],
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  run: r.job_id === null ? null : { jobId: r.job_id, attempt: r.job_attempt ?? 0 },
});

export function insertApiToken(prepare: Prepare, t: ApiToken): void {
  prepare(`
    INSERT INTO api_tokens (hash, actor, scopes, created_at, expires_at, job_id, job_attempt)
    VALUES (@hash, @actor, @scopes, @createdAt, @expiresAt, @jobId, @attempt)`).run({
    hash: t.hash,
    actor: t.actor,
    scopes: JSON.stringify(t.scopes),
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    jobId: t.run?.jobId ?? null,
    attempt: t.run?.attempt ?? null,
  });
}

export function liveApiToken(prepare: Prepare, hash: string, now: string): ApiToken | null {
  const row = prepare(`SELECT * FROM api_tokens t WHERE t.hash = @hash AND t.expires_at > @now AND ${runIsLive('t')}`).get({ hash, now }) as ApiTokenRow | undefined;
  return row ? toApiToken(row) : null;
}

export function deleteApiToken(prepare: Prepare, hash: string): void {
  prepare('DELETE FROM api_tokens WHERE hash = ?').run(hash);
}

/** Deletes every token that could no longer be used: expired, or its run is over. */
export function deleteDeadApiTokens(prepare: Prepare, now: string): number {
  return prepare(`DELETE FROM api_tokens WHERE expires_at <= @now OR NOT ${runIsLive('api_tokens')}`).run({ now }).changes;
}
