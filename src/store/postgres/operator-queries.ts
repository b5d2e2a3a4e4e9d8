import { auditScope } from '../../core/audit-scope.js';
import { DeckhandError, ErrorCode } from '../../core/errors.js';
import { outcomeOfJob } from '../../core/model.js';
import type { AuditQuery, AuditRecord, DeliveryPage, DeliveryQuery, DeliverySummary, Job, NewAuditRecord, NewOperatorToken, OperatorToken } from '../../core/model.js';
import { deliveryLimits } from '../sqlite/operator-queries.js';
import { clampLimit, listLimits } from '../sqlite/query.js';
import type { Db, Sql } from './db.js';
import { toAudit, toJob, toJson, type AuditRow, type JobRow } from './rows.js';

/** What operators read and repair, on PostgreSQL: the same semantics as src/store/sqlite/operator-queries.ts. */

/** A condition with `$` for each of its values (none or one), or undefined when that filter is not set. */
type Condition = [sql: string, ...values: unknown[]] | undefined;

/** ANDs the set conditions, numbering each `$` in order; the statement's own parameters follow. */
function conditions(list: Condition[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts: string[] = [];
  for (const condition of list) {
    if (!condition) continue;
    const [text, ...values] = condition;
    let i = 0;
    parts.push(text.replace(/\$/g, () => `$${params.length + ++i}`));
    params.push(...values);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

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
  cursor: number;
}

const jobOf = (alias: string) => `(${alias}.payload ->> 'deliveryId')`;
const deliveryColumns = 'd.id, d.source, d.delivery_id, d.received_at, d.content_type';
const jobColumns = 'j.id AS job_id, j.type AS job_type, j.state AS job_state, j.attempts AS job_attempts, j.last_error AS job_last_error, j.finished_at AS job_finished_at';
const jobCount = `(SELECT count(*)::int FROM jobs c WHERE ${jobOf('c')} = d.id::text) AS jobs`;
const sinceBound = `d.id >= COALESCE((SELECT s.id FROM deliveries s WHERE s.received_at >= $ ORDER BY s.received_at LIMIT 1), 9223372036854775807)`;

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

export async function listDeliveryRows(sql: Sql, query: DeliveryQuery): Promise<DeliveryPage> {
  const limit = clampLimit(query.limit, deliveryLimits);
  let rows: DeliveryListRow[];
  if (query.outcome) {
    const where = conditions([
      ['j.state = $', query.outcome === 'ignored' ? 'done' : query.outcome],
      query.outcome === 'ignored' ? ['j.attempts = 0'] : query.outcome === 'done' ? ['j.attempts > 0'] : undefined,
      query.id === undefined ? undefined : ['d.id = $', query.id],
      [`${jobOf('j')} IS NOT NULL`],
      [`NOT EXISTS (SELECT 1 FROM jobs n WHERE ${jobOf('n')} = ${jobOf('j')} AND n.id > j.id)`],
      query.source === undefined ? undefined : ['d.source = $', query.source],
      query.since === undefined ? undefined : ['d.received_at >= $', query.since],
      query.cursor === undefined ? undefined : ['j.id < $', query.cursor],
    ]);
    rows = await sql.rows<DeliveryListRow>(
      `SELECT ${deliveryColumns}, ${jobColumns}, ${jobCount}, j.id AS cursor
       FROM jobs j JOIN deliveries d ON d.id = ${jobOf('j')}::bigint
       ${where.sql} ORDER BY j.id DESC LIMIT $${where.params.length + 1}`,
      [...where.params, limit + 1],
    );
  } else {
    const where = conditions([
      query.id === undefined ? undefined : ['d.id = $', query.id],
      query.source === undefined ? undefined : ['d.source = $', query.source],
      query.since === undefined ? undefined : [sinceBound, query.since],
      query.since === undefined ? undefined : ['d.received_at >= $', query.since],
      query.cursor === undefined ? undefined : ['d.id < $', query.cursor],
    ]);
    rows = await sql.rows<DeliveryListRow>(
      `SELECT ${deliveryColumns}, ${jobColumns}, ${jobCount}, d.id AS cursor
       FROM deliveries d
       LEFT JOIN jobs j ON j.id = (SELECT l.id FROM jobs l WHERE ${jobOf('l')} = d.id::text ORDER BY l.id DESC LIMIT 1)
       ${where.sql} ORDER BY d.id DESC LIMIT $${where.params.length + 1}`,
      [...where.params, limit + 1],
    );
  }
  const page = rows.slice(0, limit);
  return { deliveries: page.map(toSummary), next: rows.length > limit ? (page.at(-1)?.cursor ?? null) : null };
}

export async function retryDeadJob(sql: Sql, id: number, now: string): Promise<Job | null> {
  const row = await sql.row<JobRow>(
    `UPDATE jobs SET state = 'pending', run_at = $2, max_attempts = attempts + 1, finished_at = NULL
     WHERE id = $1 AND state = 'dead' RETURNING *`,
    [id, now],
  );
  return row ? toJob(row) : null;
}

export async function insertAudit(sql: Sql, record: NewAuditRecord): Promise<AuditRecord> {
  const scope = auditScope(record);
  const row = await sql.row<AuditRow>(
    'INSERT INTO audit_log (at, actor, action, target, outcome, details, app, environment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *',
    [record.at, record.actor, record.action, record.target, record.outcome, toJson(record.details), scope.app, scope.environment],
  );
  return toAudit(row!);
}

export async function listAuditRows(sql: Sql, query: AuditQuery): Promise<AuditRecord[]> {
  const where = conditions([
    query.action === undefined ? undefined : ['action = $', query.action],
    query.actor === undefined ? undefined : ['actor = $', query.actor],
    query.app === undefined ? undefined : ['app = $', query.app],
    query.environment === undefined ? undefined : ['environment = $', query.environment],
    query.since === undefined ? undefined : ['at >= $', query.since],
    query.until === undefined ? undefined : ['at < $', query.until],
    query.beforeId === undefined ? undefined : ['id < $', query.beforeId],
  ]);
  const limit = clampLimit(query.limit, listLimits.audit);
  const rows = await sql.rows<AuditRow>(`SELECT * FROM audit_log ${where.sql} ORDER BY id DESC LIMIT $${where.params.length + 1}`, [...where.params, limit]);
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

const toOperatorToken = (r: OperatorTokenRow): OperatorToken => ({
  id: r.id,
  name: r.name,
  hash: r.hash,
  role: r.role,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

export async function insertOperatorToken(db: Db, t: NewOperatorToken, now: string): Promise<OperatorToken> {
  const row = await db.tx(async (sql) => {
    await sql.run('UPDATE operator_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $2', [t.name, now]);
    return sql.row<OperatorTokenRow>(
      `INSERT INTO operator_tokens (name, hash, role, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING RETURNING *`,
      [t.name, t.hash, t.role, t.createdBy, t.createdAt, t.expiresAt],
    );
  });
  if (!row) throw new DeckhandError(ErrorCode.Conflict, `A token called "${t.name}" exists already: revoke it first (deckhand token revoke ${t.name}) or pick another name.`, { name: t.name });
  return toOperatorToken(row);
}

export async function liveOperatorToken(sql: Sql, hash: string, now: string): Promise<OperatorToken | null> {
  const row = await sql.row<OperatorTokenRow>('SELECT * FROM operator_tokens WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)', [hash, now]);
  return row ? toOperatorToken(row) : null;
}

export async function operatorTokenRows(sql: Sql): Promise<OperatorToken[]> {
  return (await sql.rows<OperatorTokenRow>('SELECT * FROM operator_tokens WHERE revoked_at IS NULL ORDER BY name COLLATE "C"')).map(toOperatorToken);
}

export async function revokeOperatorTokenRow(sql: Sql, name: string, now: string): Promise<OperatorToken | null> {
  const row = await sql.row<OperatorTokenRow>('UPDATE operator_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING *', [name, now]);
  return row ? toOperatorToken(row) : null;
}
