import type { Delivery, Job, NewDelivery, NewJob } from '../../core/model.js';
import type { AcceptedDelivery, DeliveryToAccept, JobLease } from '../types.js';
import { intakeJob, jobStart } from '../intake-job.js';
import type { Prepare } from './approvals.js';
import { whereClause } from './query.js';
import { toDelivery, toJob, toJson, type DeliveryRow, type JobRow } from './rows.js';

/** Inserts a delivery; null when (source, deliveryId) is already stored. Run inside a transaction with its job. */
export function insertDelivery(prepare: Prepare, d: NewDelivery): Delivery | null {
  const row = prepare(`
    INSERT INTO deliveries (source, delivery_id, received_at, content_type, headers, query, body)
    VALUES (@source, @deliveryId, @receivedAt, @contentType, @headers, @query, @body)
    ON CONFLICT (source, delivery_id) DO NOTHING
    RETURNING *`).get({ ...d, headers: toJson(d.headers), query: toJson(d.query), body: toJson(d.body) }) as DeliveryRow | undefined;
  return row ? toDelivery(row) : null;
}

/**
 * Store.acceptDeliveries inside the caller's transaction: per item, the delivery (its body text
 * as given, or serialised once) and its job: pending, claimed at intake (`job.lease`: running,
 * attempt 1) or done at intake (`job.doneAtIntake`). RETURNING only ids, so no body is read back;
 * a job claimed at intake is handed back as the Job it is, built from what was inserted.
 */
export function insertDeliveries(prepare: Prepare, items: readonly DeliveryToAccept[]): AcceptedDelivery[] {
  const insert = prepare(`
    INSERT INTO deliveries (source, delivery_id, received_at, content_type, headers, query, body)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (source, delivery_id) DO NOTHING
    RETURNING id`);
  const existing = prepare('SELECT id FROM deliveries WHERE source = ? AND delivery_id = ?');
  const job = prepare(`
    INSERT INTO jobs (type, key, payload, state, attempts, max_attempts, run_at, lease_owner, lease_expires_at, created_at, finished_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO NOTHING
    RETURNING id`);
  return items.map(({ delivery: d, job: j, bodyText }) => {
    const row = insert.get(d.source, d.deliveryId, d.receivedAt, d.contentType, toJson(d.headers), toJson(d.query), bodyText ?? toJson(d.body)) as { id: number } | undefined;
    if (!row) return { id: (existing.get(d.source, d.deliveryId) as { id: number }).id, duplicate: true };
    const stored = intakeJob(j, row.id, d.receivedAt);
    const inserted = job.get(stored.type, stored.key, toJson(stored.payload), stored.state, stored.attempts, stored.maxAttempts, stored.runAt, stored.leaseOwner, stored.leaseExpiresAt, stored.createdAt, stored.finishedAt) as { id: number } | undefined;
    return j.lease && inserted ? { id: row.id, duplicate: false, job: { ...stored, id: inserted.id } } : { id: row.id, duplicate: false };
  });
}

export function deliveryBy(prepare: Prepare, where: 'id' | 'source_delivery', ...args: Array<string | number>): Delivery | null {
  const sql = where === 'id' ? 'SELECT * FROM deliveries WHERE id = ?' : 'SELECT * FROM deliveries WHERE source = ? AND delivery_id = ?';
  const row = prepare(sql).get(...args) as DeliveryRow | undefined;
  return row ? toDelivery(row) : null;
}

export function insertJob(prepare: Prepare, job: NewJob, now: string, lease?: JobLease): Job | null {
  const row = prepare(`
    INSERT INTO jobs (type, key, payload, state, attempts, max_attempts, run_at, lease_owner, lease_expires_at, created_at)
    VALUES (@type, @key, @payload, @state, @attempts, @maxAttempts, @runAt, @leaseOwner, @leaseExpiresAt, @createdAt)
    ON CONFLICT (key) DO NOTHING
    RETURNING *`).get({ type: job.type, key: job.key ?? null, payload: toJson(job.payload), maxAttempts: job.maxAttempts ?? 5, runAt: job.runAt, createdAt: now, ...jobStart({ lease }, now) }) as JobRow | undefined;
  return row ? toJob(row) : null;
}

export function claimDueJob(prepare: Prepare, owner: string, now: string, leaseExpiresAt: string): Job | null {
  const row = prepare(`
    UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = @owner, lease_expires_at = @leaseExpiresAt
    WHERE id = (
      -- Through the partial index jobs_due (pending and running jobs only, in (run_at, id) order): a
      -- bounded range scan however many done or dead jobs there are, and no sort. INDEXED BY, because
      -- with jobs_by_state (state, id) the planner took that one and sorted every pending job on each
      -- claim — under load, with a backlog, most of the bot's CPU. run_at <= now holds for both kinds
      -- (a lease ends after the claim, which came after run_at).
      SELECT id FROM jobs INDEXED BY jobs_due
      WHERE state IN ('pending', 'running') AND run_at <= @now
        AND (state = 'pending' OR lease_expires_at <= @now)
      ORDER BY run_at, id LIMIT 1
    )
    RETURNING *`).get({ owner, now, leaseExpiresAt }) as JobRow | undefined;
  return row ? toJob(row) : null;
}

/** claimDueJob for up to `limit` jobs in one statement (run it in a transaction); in (runAt, id) order. */
export function claimDueJobs(prepare: Prepare, owner: string, now: string, leaseExpiresAt: string, limit: number): Job[] {
  const rows = prepare(`
    UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = @owner, lease_expires_at = @leaseExpiresAt
    WHERE id IN (
      SELECT id FROM jobs INDEXED BY jobs_due
      WHERE state IN ('pending', 'running') AND run_at <= @now
        AND (state = 'pending' OR lease_expires_at <= @now)
      ORDER BY run_at, id LIMIT @limit
    )
    RETURNING *`).all({ owner, now, leaseExpiresAt, limit }) as JobRow[];
  // RETURNING comes in no promised order.
  return rows.map(toJob).sort((a, b) => (a.runAt < b.runAt ? -1 : a.runAt > b.runAt ? 1 : a.id - b.id));
}

export function finishJob(prepare: Prepare, id: number, owner: string, now: string): void {
  prepare(`UPDATE jobs SET state = 'done', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND state = 'running'`).run(now, id, owner);
}

export function failedJob(prepare: Prepare, id: number, owner: string, error: string, now: string, retryAt: string | null): void {
  prepare(`
    UPDATE jobs SET state = @state, run_at = COALESCE(@retryAt, run_at), last_error = @error,
      lease_owner = NULL, lease_expires_at = NULL, finished_at = CASE WHEN @retryAt IS NULL THEN @now ELSE NULL END
    WHERE id = @id AND lease_owner = @owner AND state = 'running'`).run({ id, owner, error: error.slice(0, 2000), now, retryAt, state: retryAt === null ? 'dead' : 'pending' });
}

export function jobById(prepare: Prepare, id: number): Job | null {
  const row = prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  return row ? toJob(row) : null;
}

/** Newest first; each filter set walks an index in id order (jobs_by_state, jobs_by_type), none the primary key. */
export function listJobRows(prepare: Prepare, query: { state?: Job['state']; type?: string; limit?: number }): Job[] {
  const where = whereClause([query.state === undefined ? undefined : ['state = ?', query.state], query.type === undefined ? undefined : [query.state === undefined ? 'type = ?' : '+type = ?', query.type]]);
  const rows = prepare(`SELECT * FROM jobs ${where.sql} ORDER BY id DESC LIMIT ?`).all(...where.params, Math.min(Math.max(query.limit ?? 50, 1), 500)) as JobRow[];
  return rows.map(toJob);
}

export function renewLease(prepare: Prepare, id: number, owner: string, until: string): boolean {
  return prepare(`UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`).run(until, id, owner).changes === 1;
}
