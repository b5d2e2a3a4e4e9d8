import { DeckhandError, ErrorCode } from '../../core/errors.js';
import { auditScope } from '../../core/audit-scope.js';
import { outcomeOfJob } from '../../core/model.js';
import type { AuditQuery, AuditRecord, DeliveryPage, DeliveryQuery, DeliverySummary, Job, NewAuditRecord, NewOperatorToken, OperatorToken } from '../../core/model.js';
import type { Prepare } from './approvals.js';
import { clampLimit, listLimits, whereClause, type Filter } from './query.js';
import { toAudit, toJob, toJson, type AuditRow, type JobRow } from './rows.js';

/**
 * What operators read and repair (src/operators/): deliveries with their outcome, dead jobs, the
 * audit log by app and environment, operator tokens. Every list walks an index in its order
 * (test/unit/store/query-plans.test.ts): no list reads the whole of a table that grows.
 */

export const deliveryLimits = { default: 50, max: 500 } as const;

interface DeliveryListRow {
  id: number;
  source: string;
  delivery_id: string;
  received_at: string;
  content_type: string;
  job_id: number | null;
  job_type: string | null;
  job_state: Job['state'] | null;
  job_attempts: number | null;
  job_last_error: string | null;
  job_finished_at: string | null;
  jobs: number;
}

const jobOf = (alias: string) => `json_extract(${alias}.payload, '$.deliveryId')`;
const deliveryColumns = 'd.id, d.source, d.delivery_id, d.received_at, d.content_type';
const jobColumns = 'j.id AS job_id, j.type AS job_type, j.state AS job_state, j.attempts AS job_attempts, j.last_error AS job_last_error, j.finished_at AS job_finished_at';
const jobCount = `(SELECT count(*) FROM jobs c WHERE ${jobOf('c')} = +d.id) AS jobs`;

function toSummary(r: DeliveryListRow): DeliverySummary {
  return {
    id: r.id,
    source: r.source,
    deliveryId: r.delivery_id,
    receivedAt: r.received_at,
    contentType: r.content_type,
    outcome: outcomeOfJob(r.job_state === null ? null : { state: r.job_state, attempts: r.job_attempts ?? 0 }),
    job: r.job_id === null ? null : { id: r.job_id, type: r.job_type ?? '', state: r.job_state ?? 'done', attempts: r.job_attempts ?? 0, lastError: r.job_last_error, finishedAt: r.job_finished_at },
    jobs: r.jobs,
  };
}

/**
 * `since` becomes a lower bound on the id (the first delivery received at or after it, through
 * deliveries_by_received), so a newest-first walk stops there instead of reading to the table's
 * start. Ids grow with receipt, so this is exact up to clock skew between replicas (milliseconds).
 */
const sinceBound = `d.id >= COALESCE((SELECT s.id FROM deliveries s WHERE s.received_at >= ? ORDER BY s.received_at LIMIT 1), 9223372036854775807)`;

export function listDeliveryRows(prepare: Prepare, query: DeliveryQuery): DeliveryPage {
  const limit = clampLimit(query.limit, deliveryLimits);
  let rows: Array<DeliveryListRow & { cursor: number }>;
  if (query.outcome) {
    // Newest job first, through jobs_by_state; only a delivery's newest job speaks for it.
    const where = whereClause([
      ['j.state = ?', query.outcome === 'ignored' ? 'done' : query.outcome],
      query.outcome === 'ignored' ? ['j.attempts = 0'] : query.outcome === 'done' ? ['j.attempts > 0'] : undefined,
      query.id === undefined ? undefined : ['d.id = ?', query.id],
      [`${jobOf('j')} IS NOT NULL`],
      [`NOT EXISTS (SELECT 1 FROM jobs n WHERE ${jobOf('n')} = +d.id AND n.id > j.id)`],
      query.source === undefined ? undefined : ['d.source = ?', query.source],
      query.since === undefined ? undefined : ['d.received_at >= ?', query.since],
      query.cursor === undefined ? undefined : ['j.id < ?', query.cursor],
    ]);
    rows = prepare(`
      SELECT ${deliveryColumns}, ${jobColumns}, ${jobCount}, j.id AS cursor
      FROM jobs j JOIN deliveries d ON d.id = ${jobOf('j')}
      ${where.sql} ORDER BY j.id DESC LIMIT ?`).all(...where.params, limit + 1) as typeof rows;
  } else {
    const filters: Filter[] = [
      query.id === undefined ? undefined : ['d.id = ?', query.id],
      query.source === undefined ? undefined : ['d.source = ?', query.source],
      query.since === undefined ? undefined : [sinceBound, query.since],
      query.since === undefined ? undefined : ['d.received_at >= ?', query.since],
      query.cursor === undefined ? undefined : ['d.id < ?', query.cursor],
    ];
    const where = whereClause(filters);
    // The page first (in primary-key or deliveries_by_source order), then the newest job of each by id.
    const page = prepare(`
      SELECT ${deliveryColumns}, (SELECT l.id FROM jobs l WHERE ${jobOf('l')} = +d.id ORDER BY l.id DESC LIMIT 1) AS job_id, ${jobCount}, d.id AS cursor
      FROM deliveries d ${where.sql} ORDER BY d.id DESC LIMIT ?`).all(...where.params, limit + 1) as Array<Pick<DeliveryListRow, 'id' | 'source' | 'delivery_id' | 'received_at' | 'content_type' | 'job_id' | 'jobs'> & { cursor: number }>;
    const jobIds = page.flatMap((r) => (r.job_id === null ? [] : [r.job_id]));
    const jobs = new Map(
      (prepare(`SELECT ${jobColumns} FROM jobs j WHERE j.id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(jobIds)) as Array<Omit<DeliveryListRow, 'id' | 'source' | 'delivery_id' | 'received_at' | 'content_type' | 'jobs'>>).map((j) => [j.job_id, j]),
    );
    rows = page.map((r) => ({ ...r, ...(jobs.get(r.job_id) ?? { job_id: null, job_type: null, job_state: null, job_attempts: null, job_last_error: null, job_finished_at: null }) }));
  }
  const page = rows.slice(0, limit);
  return { deliveries: page.map(toSummary), next: rows.length > limit ? (page.at(-1)?.cursor ?? null) : null };
}

export function retryDeadJob(prepare: Prepare, id: number, now: string): Job | null {
  const row = prepare(`
    UPDATE jobs SET state = 'pending', run_at = @now, max_attempts = attempts + 1, finished_at = NULL
    WHERE id = @id AND state = 'dead' RETURNING *`).get({ id, now }) as JobRow | undefined;
  return row ? toJob(row) : null;
}

export function insertAudit(prepare: Prepare, record: NewAuditRecord): AuditRecord {
  const scope = auditScope(record);
  const row = prepare(`
    INSERT INTO audit_log (at, actor, action, target, outcome, details, app, environment)
    VALUES (@at, @actor, @action, @target, @outcome, @details, @app, @environment)
    RETURNING *`).get({ at: record.at, actor: record.actor, action: record.action, target: record.target, outcome: record.outcome, details: toJson(record.details), ...scope }) as AuditRow;
  return toAudit(row);
}

export function listAuditRows(prepare: Prepare, query: AuditQuery): AuditRecord[] {
  // An equality picks its (column, id DESC) index, which serves the sort; `since` and `until` become
  // id bounds (the first record at or after each, through audit_by_at), as for deliveries.
  const where = whereClause([
    query.action === undefined ? undefined : ['action = ?', query.action],
    query.actor === undefined ? undefined : ['actor = ?', query.actor],
    query.app === undefined ? undefined : ['app = ?', query.app],
    query.environment === undefined ? undefined : ['environment = ?', query.environment],
    query.since === undefined ? undefined : ['id >= COALESCE((SELECT s.id FROM audit_log s WHERE s.at >= ? ORDER BY s.at LIMIT 1), 9223372036854775807)', query.since],
    query.since === undefined ? undefined : ['+at >= ?', query.since],
    query.until === undefined ? undefined : ['id < COALESCE((SELECT u.id FROM audit_log u WHERE u.at >= ? ORDER BY u.at LIMIT 1), 9223372036854775807)', query.until],
    query.until === undefined ? undefined : ['+at < ?', query.until],
    query.beforeId === undefined ? undefined : ['id < ?', query.beforeId],
  ]);
  const limit = clampLimit(query.limit, listLimits.audit);
  const rows = prepare(`SELECT * FROM audit_log ${where.sql} ORDER BY id DESC LIMIT ?`).all(...where.params, limit) as AuditRow[];
  return rows.map(toAudit);
}

// --- operator tokens ---------------------------------------------------------------------------

interface OperatorTokenRow {
  id: number;
  name: string;
  hash: string;
  role: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export const toOperatorToken = (r: OperatorTokenRow): OperatorToken => ({
  id: r.id,
  name: r.name,
  hash: r.hash,
  role: r.role,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

/** Run in a transaction: an expired token of the same name is revoked first; a live one is a conflict. */
export function insertOperatorToken(prepare: Prepare, t: NewOperatorToken, now: string): OperatorToken {
  prepare('UPDATE operator_tokens SET revoked_at = @now WHERE name = @name AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= @now').run({ name: t.name, now });
  const row = prepare(`
    INSERT INTO operator_tokens (name, hash, role, created_by, created_at, expires_at)
    VALUES (@name, @hash, @role, @createdBy, @createdAt, @expiresAt)
    ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
    RETURNING *`).get(t) as OperatorTokenRow | undefined;
  if (!row) throw new DeckhandError(ErrorCode.Conflict, `A token called "${t.name}" exists already: revoke it first (deckhand token revoke ${t.name}) or pick another name.`, { name: t.name });
  return toOperatorToken(row);
}

export function liveOperatorToken(prepare: Prepare, hash: string, now: string): OperatorToken | null {
  const row = prepare('SELECT * FROM operator_tokens WHERE hash = @hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)').get({ hash, now }) as OperatorTokenRow | undefined;
  return row ? toOperatorToken(row) : null;
}

export function operatorTokenRows(prepare: Prepare): OperatorToken[] {
  return (prepare('SELECT * FROM operator_tokens WHERE revoked_at IS NULL ORDER BY name').all() as OperatorTokenRow[]).map(toOperatorToken);
}

export function revokeOperatorTokenRow(prepare: Prepare, name: string, now: string): OperatorToken | null {
  const row = prepare('UPDATE operator_tokens SET revoked_at = @now WHERE name = @name AND revoked_at IS NULL RETURNING *').get({ name, now }) as OperatorTokenRow | undefined;
  return row ? toOperatorToken(row) : null;
}
