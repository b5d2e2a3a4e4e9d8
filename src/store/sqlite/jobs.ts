import type { Delivery, Job, NewDelivery, NewJob } from '../../core/model.js';
import type { Prepare } from './approvals.js';
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

export function deliveryBy(prepare: Prepare, where: 'id' | 'source_delivery', ...args: Array<string | number>): Delivery | null {
  const sql = where === 'id' ? 'SELECT * FROM deliveries WHERE id = ?' : 'SELECT * FROM deliveries WHERE source = ? AND delivery_id = ?';
  const row = prepare(sql).get(...args) as DeliveryRow | undefined;
  return row ? toDelivery(row) : null;
}

export function insertJob(prepare: Prepare, job: NewJob, now: string): Job | null {
  const row = prepare(`
    INSERT INTO jobs (type, key, payload, state, max_attempts, run_at, created_at)
    VALUES (@type, @key, @payload, 'pending', @maxAttempts, @runAt, @createdAt)
    ON CONFLICT (key) DO NOTHING
    RETURNING *`).get({ type: job.type, key: job.key ?? null, payload: toJson(job.payload), maxAttempts: job.maxAttempts ?? 5, runAt: job.runAt, createdAt: now }) as JobRow | undefined;
  return row ? toJob(row) : null;
}

export function claimDueJob(prepare: Prepare, owner: string, now: string, leaseExpiresAt: string): Job | null {
  const row = prepare(`
    UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = @owner, lease_expires_at = @leaseExpiresAt
    WHERE id = (
      SELECT id FROM jobs
      -- "state IN (...)" first: it is the partial index jobs_due's own condition, so the claim walks
      -- that index (pending and running jobs only) instead of every job ever stored.
      WHERE state IN ('pending', 'running')
        AND ((state = 'pending' AND run_at <= @now) OR (state = 'running' AND lease_expires_at <= @now))
      ORDER BY run_at, id LIMIT 1
    )
    RETURNING *`).get({ owner, now, leaseExpiresAt }) as JobRow | undefined;
  return row ? toJob(row) : null;
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

export function listJobRows(prepare: Prepare, query: { state?: Job['state']; type?: string; limit?: number }): Job[] {
  const rows = prepare(`SELECT * FROM jobs WHERE (@state IS NULL OR state = @state) AND (@type IS NULL OR type = @type) ORDER BY id DESC LIMIT @limit`).all({
    state: query.state ?? null,
    type: query.type ?? null,
    limit: Math.min(Math.max(query.limit ?? 50, 1), 500),
  }) as JobRow[];
  return rows.map(toJob);
}

export function renewLease(prepare: Prepare, id: number, owner: string, until: string): boolean {
  return prepare(`UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`).run(until, id, owner).changes === 1;
}
