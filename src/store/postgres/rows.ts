import type { AuditRecord, Deployment, DeploymentOrigin, DeploymentSource, DeploymentState, ExternalDeployment, ScriptProcess, StoredEvent } from '../../core/model.js';

/**
 * Rows as node-postgres returns them with the store's type parsers (db.ts): snake_case columns,
 * ids as numbers, booleans as booleans, json already parsed, timestamps as ISO strings.
 */

export interface DeploymentRow {
  id: number;
  app: string;
  environment: string;
  ref: string;
  state: string;
  provider: string;
  source: string;
  requested_by: string;
  room: string | null;
  dry_run: boolean;
  forced: boolean;
  rollback_of: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  reason: string | null;
  log_tail: string | null;
  origin: DeploymentOrigin | null;
  log_token: string;
  external: ExternalDeployment | null;
  /** Migration 10: who runs it, by when, its script's process group, and a hold on its target. */
  run_owner: string | null;
  run_deadline: string | null;
  run_process: ScriptProcess | null;
  held_until: string | null;
}

export function toDeployment(row: DeploymentRow): Deployment {
  return {
    id: row.id,
    app: row.app,
    environment: row.environment,
    ref: row.ref,
    // The CHECK constraint guarantees the state; the source is written only by createDeployment.
    state: row.state as DeploymentState,
    provider: row.provider,
    source: row.source as DeploymentSource,
    requestedBy: row.requested_by,
    room: row.room,
    dryRun: row.dry_run,
    forced: row.forced,
    rollbackOf: row.rollback_of,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code,
    reason: row.reason,
    logTail: row.log_tail,
    origin: row.origin,
    logToken: row.log_token,
    external: row.external,
  };
}

export interface EventRow {
  id: number;
  type: string;
  at: string;
  data: unknown;
}

export function toEvent(row: EventRow): StoredEvent {
  return { id: row.id, type: row.type, at: row.at, data: row.data };
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: Record<string, unknown>;
}

export function toAudit(row: AuditRow): AuditRecord {
  return { id: row.id, at: row.at, actor: row.actor, action: row.action, target: row.target, outcome: row.outcome as AuditRecord['outcome'], details: row.details };
}

export { environmentWide, toApproval, toJson, toLock, toMessageRef, toRelease, type ApprovalRow, type LockRow, type MessageRefRow, type ReleaseRow } from '../row-mappers.js';
