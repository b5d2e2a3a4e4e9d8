import type { Delivery, Job, NewDelivery, NewJob } from '../../core/model.js';
import type { AcceptedDelivery, DeliveryToAccept, FinishedJob, JobLease } from '../types.js';
import { intakeJob, jobStart } from '../intake-job.js';
import type { Sql } from './db.js';
import { where } from './where.js';
import { toDelivery, toJob, toJson, type DeliveryRow, type JobRow } from './rows.js';

/** The webhook inbox and the job queue of the PostgreSQL store: the same semantics as SQLite's (src/store/sqlite/jobs.ts). */

/** The channel a new job is announced on (notifications.ts listens). Its payload is empty: it only says "look". */
export const jobsChannel = 'deckhand_jobs';

/** Inserts a delivery; null when (source, deliveryId) is already stored. Run inside a transaction with its job. */
export async function insertDelivery(sql: Sql, d: NewDelivery): Promise<Delivery | null> {
  const row = await sql.row<DeliveryRow>(
    `INSERT INTO deliveries (source, delivery_id, received_at, content_type, headers, query, body)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (source, delivery_id) DO NOTHING
     RETURNING *`,
    [d.source, d.deliveryId, d.receivedAt, d.contentType, toJson(d.headers), toJson(d.query), toJson(d.body)],
  );
  return row ? toDelivery(row) : null;
}

/**
 * Store.acceptDeliveries inside the caller's transaction: per item one statement stores the
 * delivery (its body text as given, or serialised once) and its job — pending, claimed at intake
 * or done at intake, as SQLite's — and returns only ids (the earlier row's for a duplicate: the
 * main query's snapshot does not see the row its own CTE inserts, so that branch finds only a row
 * stored before). One notification for the batch, when it left a job for any worker to claim.
 */
export async function insertDeliveries(sql: Sql, items: readonly DeliveryToAccept[]): Promise<AcceptedDelivery[]> {
  const accepted: AcceptedDelivery[] = [];
  let claimable = false;
  for (const { delivery: d, job: j, bodyText } of items) {
    const start = jobStart(j, d.receivedAt);
    const row = await sql.row<{ id: number; duplicate: boolean; job_id: number | null }>(
      `WITH d AS (
         INSERT INTO deliveries (source, delivery_id, received_at, content_type, headers, query, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (source, delivery_id) DO NOTHING
         RETURNING id
       ), j AS (
         INSERT INTO jobs (type, key, payload, state, attempts, max_attempts, run_at, lease_owner, lease_expires_at, created_at, finished_at)
         SELECT $8, $9, json_build_object('deliveryId', d.id), $12, $13, $10, $11, $14, $15, $3, $16 FROM d
         ON CONFLICT (key) DO NOTHING
         RETURNING id
       )
       SELECT id, false AS duplicate, (SELECT id FROM j) AS job_id FROM d
       UNION ALL
       SELECT id, true AS duplicate, NULL AS job_id FROM deliveries WHERE source = $1 AND delivery_id = $2 AND NOT EXISTS (SELECT 1 FROM d)`,
      [d.source, d.deliveryId, d.receivedAt, d.contentType, toJson(d.headers), toJson(d.query), bodyText ?? toJson(d.body), j.type, j.key ?? null, j.maxAttempts ?? 5, j.runAt, start.state, start.attempts, start.leaseOwner, start.leaseExpiresAt, start.finishedAt],
    );
    if (!row) throw new Error(`delivery ${d.source}/${d.deliveryId} was neither stored nor found`);
    if (row.duplicate) {
      accepted.push({ id: row.id, duplicate: true });
      continue;
    }
    if (start.state === 'pending') claimable = true;
    accepted.push(j.lease && row.job_id !== null ? { id: row.id, duplicate: false, job: { ...intakeJob(j, row.id, d.receivedAt), id: Number(row.job_id) } } : { id: row.id, duplicate: false });
  }
  if (claimable) await sql.run(`SELECT pg_notify('${jobsChannel}', '')`);
  return accepted;
}

export async function deliveryBy(sql: Sql, where: 'id' | 'source_delivery', ...args: Array<string | number>): Promise<Delivery | null> {
  const text = where === 'id' ? 'SELECT * FROM deliveries WHERE id = $1' : 'SELECT * FROM deliveries WHERE source = $1 AND delivery_id = $2';
  const row = await sql.row<DeliveryRow>(text, args);
  return row ? toDelivery(row) : null;
}

/**
 * Creates a job (null when its key exists) and, in the same statement, announces it on
 * jobsChannel. PostgreSQL delivers the notification only when the transaction commits, so no
 * worker looks before the job is visible, and a rolled-back job wakes nobody.
 */
export async function insertJob(sql: Sql, job: NewJob, now: string, lease?: JobLease): Promise<Job | null> {
  // A job created claimed (`lease`) is its holder's already: nobody else is told of it.
  const start = jobStart({ lease }, now);
  const row = await sql.row<JobRow>(
    `WITH created AS (
       INSERT INTO jobs (type, key, payload, state, attempts, max_attempts, run_at, lease_owner, lease_expires_at, created_at)
       VALUES ($1, $2, $3, $7, $8, $4, $5, $9, $10, $6)
       ON CONFLICT (key) DO NOTHING
       RETURNING *
     )
     SELECT created.*${lease ? '' : `, pg_notify('${jobsChannel}', '')`} FROM created`,
    [job.type, job.key ?? null, toJson(job.payload), job.maxAttempts ?? 5, job.runAt, now, start.state, start.attempts, start.leaseOwner, start.leaseExpiresAt],
  );
  return row ? toJob(row) : null;
}

/**
 * Takes the next due job: pending and due, or running under a lease that has lapsed. SKIP LOCKED
 * lets concurrent claimers (any process) pass over a row another is taking instead of queueing
 * behind it; each job still goes to exactly one. `run_at <= now` holds for both kinds (a lease
 * ends after the claim, which came after run_at), so the claim is a bounded range scan of the
 * jobs_due index in (run_at, id) order, however many done, dead or future jobs there are.
 * Parameters: $1 owner, $2 now, $3 the lease's end.
 */
export const claimJobSql = `
  UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_expires_at = $3
  WHERE id = (
    SELECT id FROM jobs
    WHERE state IN ('pending', 'running') AND run_at <= $2
      AND (state = 'pending' OR lease_expires_at <= $2)
    ORDER BY run_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  )
  RETURNING *`;

export async function claimDueJob(sql: Sql, owner: string, now: string, leaseExpiresAt: string): Promise<Job | null> {
  const row = await sql.row<JobRow>(claimJobSql, [owner, now, leaseExpiresAt]);
  return row ? toJob(row) : null;
}

/** claimJobSql for up to $4 jobs (SKIP LOCKED as there); in (runAt, id) order. */
export async function claimDueJobs(sql: Sql, owner: string, now: string, leaseExpiresAt: string, limit: number): Promise<Job[]> {
  const rows = await sql.rows<JobRow>(
    `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_expires_at = $3
     WHERE id IN (
       SELECT id FROM jobs
       WHERE state IN ('pending', 'running') AND run_at <= $2
         AND (state = 'pending' OR lease_expires_at <= $2)
       ORDER BY run_at, id
       LIMIT $4
       FOR UPDATE SKIP LOCKED
     )
     RETURNING *`,
    [owner, now, leaseExpiresAt, limit],
  );
  // RETURNING comes in no promised order.
  return rows.map(toJob).sort((a, b) => (a.runAt < b.runAt ? -1 : a.runAt > b.runAt ? 1 : a.id - b.id));
}

export async function finishJob(sql: Sql, id: number, owner: string, now: string): Promise<void> {
  await sql.run(`UPDATE jobs SET state = 'done', finished_at = $1, lease_owner = NULL, lease_expires_at = NULL WHERE id = $2 AND lease_owner = $3 AND state = 'running'`, [now, id, owner]);
}

/** finishJob for several jobs, in the caller's transaction (one statement each, in order). */
export async function finishJobs(sql: Sql, done: ReadonlyArray<FinishedJob>): Promise<void> {
  for (const d of done) await finishJob(sql, d.id, d.owner, d.now);
}

export async function failedJob(sql: Sql, id: number, owner: string, error: string, now: string, retryAt: string | null): Promise<void> {
  await sql.run(
    `UPDATE jobs SET state = $1, run_at = COALESCE($2::timestamptz, run_at), last_error = $3,
       lease_owner = NULL, lease_expires_at = NULL, finished_at = CASE WHEN $2::timestamptz IS NULL THEN $4::timestamptz ELSE NULL END
     WHERE id = $5 AND lease_owner = $6 AND state = 'running'`,
    [retryAt === null ? 'dead' : 'pending', retryAt, error.slice(0, 2000), now, id, owner],
  );
}

export async function jobById(sql: Sql, id: number): Promise<Job | null> {
  const row = await sql.row<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
  return row ? toJob(row) : null;
}

/** Newest first; each filter set walks an index in id order (jobs_by_state, jobs_by_type). */
export async function listJobRows(sql: Sql, query: { state?: Job['state']; type?: string; limit?: number }): Promise<Job[]> {
  const filter = where([query.state === undefined ? undefined : ['state = $', query.state], query.type === undefined ? undefined : ['type = $', query.type]]);
  const rows = await sql.rows<JobRow>(`SELECT * FROM jobs ${filter.sql} ORDER BY id DESC LIMIT $${filter.params.length + 1}`, [...filter.params, Math.min(Math.max(query.limit ?? 50, 1), 500)]);
  return rows.map(toJob);
}

export async function renewLease(sql: Sql, id: number, owner: string, until: string): Promise<boolean> {
  return (await sql.run(`UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'`, [until, id, owner])) === 1;
}
