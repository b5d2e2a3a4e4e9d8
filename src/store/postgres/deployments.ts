import { randomBytes } from 'node:crypto';
import { DeckhandError, ErrorCode } from '../../core/errors.js';
import type { Deployment, DeploymentOutcome, DeploymentQuery, ExternalDeployment, NewDeployment } from '../../core/model.js';
import { finishedStates } from '../../core/model.js';
import { clampLimit, listLimits } from '../sqlite/query.js';
import { insertApproval } from './approvals.js';
import { type Db, type Sql, constraintOf, lockSpace, serialize, sqlState, sqlStateOf } from './db.js';
import { clearLapsedHolds } from './ownership.js';
import { requestKeyUsed } from '../request-key.js';
import { type DeploymentRow, toDeployment, toJson } from './rows.js';
import { where } from './where.js';

/** Deployment queries of the PostgreSQL store: the same semantics as SqliteCore's. */

const externalKey = (system: string, id: string): string => `${system}:${id}`;

function externalTaken(external: ExternalDeployment, cause: unknown): DeckhandError {
  return new DeckhandError(ErrorCode.Conflict, `${external.system} deployment ${external.id} is already linked to another deployment.`, { external }, { cause });
}

const isExternalTaken = (err: unknown) => sqlStateOf(err) === sqlState.uniqueViolation && constraintOf(err) === 'deployments_by_external';

export async function createDeployment(db: Db, input: NewDeployment): Promise<Deployment> {
  try {
    return await db.tx(async (sql) => {
      const row = await sql.row<DeploymentRow>(
        `INSERT INTO deployments
           (app, environment, ref, state, provider, source, requested_by, room, dry_run, forced, rollback_of, origin, log_token, created_at, external, external_key, request_key, request_hash)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         RETURNING *`,
        [
          input.app,
          input.environment,
          input.ref,
          input.provider,
          input.source,
          input.requestedBy,
          input.room ?? null,
          input.dryRun ?? false,
          input.forced ?? false,
          input.rollbackOf ?? null,
          input.origin ? toJson(input.origin) : null,
          randomBytes(18).toString('base64url'),
          input.createdAt,
          input.external ? toJson(input.external) : null,
          input.external ? externalKey(input.external.system, input.external.id) : null,
          input.request?.key ?? null,
          input.request?.hash ?? null,
        ],
      );
      const created = toDeployment(row!);
      if (input.approval) {
        await insertApproval(sql, { deploymentId: created.id, environment: created.environment, requestedBy: created.requestedBy, createdAt: created.createdAt, expiresAt: input.approval.expiresAt });
      }
      return created;
    });
  } catch (err) {
    if (input.external && isExternalTaken(err)) throw externalTaken(input.external, err);
    // A concurrent request with the same key waited for the first to commit, then got here.
    if (input.request && sqlStateOf(err) === sqlState.uniqueViolation && constraintOf(err) === 'deployments_by_request_key') {
      const first = await findDeploymentByRequest(db, input.request.key);
      if (first) throw requestKeyUsed(input.request.key, { deployment: first.deployment });
    }
    if (sqlStateOf(err) === sqlState.foreignKeyViolation) {
      throw new DeckhandError(ErrorCode.NotFound, `Cannot roll back deployment #${input.rollbackOf}: it does not exist.`, { rollbackOf: input.rollbackOf }, { cause: err });
    }
    throw err;
  }
}

/**
 * Claims of one target queue behind a transaction-scoped advisory lock on that target, as SQLite's
 * behind its write lock: the oldest eligible deployment is always the one claimed (SKIP LOCKED
 * would let a second claimer take the next one while the first claim may still roll back).
 */
export async function claimNextDeployment(db: Db, app: string, environment: string, now: string, run?: { owner: string; deadline: string | null }): Promise<Deployment | null> {
  return db.tx(async (sql) => {
    await serialize(sql, lockSpace.deploymentTarget, JSON.stringify([app, environment]));
    await clearLapsedHolds(sql, app, environment, now);
    // Running, or finished but holding the target (its script may still run): either way, wait.
    const busy = await sql.row(
      `SELECT 1 FROM deployments WHERE app = $1 AND environment = $2 AND (state = 'running' OR held_until IS NOT NULL) AND provider NOT LIKE 'external:%' LIMIT 1`,
      [app, environment],
    );
    if (busy !== undefined) return null;
    const claimed = await sql.row<DeploymentRow>(
      `UPDATE deployments SET state = 'running', started_at = $3, run_owner = $4, run_deadline = $5
       WHERE id = (
         SELECT id FROM deployments
         WHERE app = $1 AND environment = $2 AND state = 'queued'
           AND provider NOT LIKE 'external:%'
           AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.deployment_id = deployments.id AND a.state <> 'approved')
         ORDER BY id LIMIT 1
       )
       RETURNING *`,
      [app, environment, now, run?.owner ?? null, run?.deadline ?? null],
    );
    return claimed === undefined ? null : toDeployment(claimed);
  });
}

export async function finishDeployment(db: Db, id: number, outcome: DeploymentOutcome): Promise<Deployment> {
  return db.tx(async (sql) => {
    const current = await deploymentById(sql, id, 'FOR UPDATE');
    if (current === null) throw new DeckhandError(ErrorCode.NotFound, `Deployment #${id} does not exist.`, { id });
    if (finishedStates.includes(current.state)) {
      throw new DeckhandError(ErrorCode.Conflict, `Deployment #${id} has already finished (${current.state}).`, { deployment: current });
    }
    const row = await sql.row<DeploymentRow>(
      `UPDATE deployments SET state = $2, finished_at = $3, exit_code = $4, reason = $5, log_tail = $6 WHERE id = $1 RETURNING *`,
      [id, outcome.state, outcome.finishedAt, outcome.exitCode ?? null, outcome.reason ?? null, outcome.logTail ?? null],
    );
    return toDeployment(row!);
  });
}

export async function findDeploymentByRequest(sql: Sql, key: string): Promise<{ deployment: Deployment; hash: string } | null> {
  const row = await sql.row<DeploymentRow & { request_hash: string }>('SELECT * FROM deployments WHERE request_key = $1', [key]);
  return row === undefined ? null : { deployment: toDeployment(row), hash: row.request_hash };
}

export async function deploymentById(sql: Sql, id: number, lock: '' | 'FOR UPDATE' = ''): Promise<Deployment | null> {
  const row = await sql.row<DeploymentRow>(`SELECT * FROM deployments WHERE id = $1 ${lock}`, [id]);
  return row === undefined ? null : toDeployment(row);
}

export async function linkExternal(sql: Sql, id: number, external: ExternalDeployment): Promise<Deployment> {
  let row: DeploymentRow | undefined;
  try {
    row = await sql.row<DeploymentRow>('UPDATE deployments SET external = $1, external_key = $2 WHERE id = $3 RETURNING *', [toJson(external), externalKey(external.system, external.id), id]);
  } catch (err) {
    if (isExternalTaken(err)) throw externalTaken(external, err);
    throw err;
  }
  if (row === undefined) throw new DeckhandError(ErrorCode.NotFound, `Deployment #${id} does not exist.`, { id });
  return toDeployment(row);
}

export async function findByExternal(sql: Sql, system: string, id: string): Promise<Deployment | null> {
  const row = await sql.row<DeploymentRow>('SELECT * FROM deployments WHERE external_key = $1', [externalKey(system, id)]);
  return row === undefined ? null : toDeployment(row);
}

export async function markMirrorStarted(sql: Sql, id: number, now: string): Promise<Deployment | null> {
  const row = await sql.row<DeploymentRow>(
    `UPDATE deployments SET state = 'running', started_at = $1 WHERE id = $2 AND state = 'queued' AND provider LIKE 'external:%' RETURNING *`,
    [now, id],
  );
  return row === undefined ? null : toDeployment(row);
}

/** Newest first. An empty `states` list matches nothing. */
export async function listDeployments(sql: Sql, query: DeploymentQuery = {}): Promise<Deployment[]> {
  if (query.states?.length === 0) return [];
  const filter = where([
    query.app === undefined ? undefined : ['app = $', query.app],
    query.environment === undefined ? undefined : ['environment = $', query.environment],
    query.states === undefined ? undefined : ['state = ANY($)', query.states],
    query.beforeId === undefined ? undefined : ['id < $', query.beforeId],
  ]);
  const limit = clampLimit(query.limit, listLimits.deployments);
  const rows = await sql.rows<DeploymentRow>(`SELECT * FROM deployments ${filter.sql} ORDER BY id DESC LIMIT $${filter.params.length + 1}`, [...filter.params, limit]);
  return rows.map(toDeployment);
}
