import type { AuditRecord, Deployment, DeploymentOrigin, ExternalDeployment, DeploymentSource, DeploymentState, StoredEvent } from '../../core/model.js';
import { environmentWide } from '../row-mappers.js';

/** Rows as SQLite returns them: snake_case columns, booleans as 0/1, JSON as TEXT. */


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
  dry_run: number;
  forced: number;
  rollback_of: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  reason: string | null;
  log_tail: string | null;
  origin: string | null;
  log_token: string;
  external: string | null;
  external_key: string | null;
  /** Migration 10: who runs it, by when, its script's process group (JSON), and a hold on its target. */
  run_owner: string | null;
  run_deadline: string | null;
  run_process: string | null;
  held_until: string | null;
}

export interface EventRow {
  id: number;
  type: string;
  at: string;
  data: string;
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: string;
}

export function lockAppColumn(app: string | null): string {
  return app ?? environmentWide;
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
    dryRun: row.dry_run === 1,
    forced: row.forced === 1,
    rollbackOf: row.rollback_of,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code,
    reason: row.reason,
    logTail: row.log_tail,
    origin: row.origin === null ? null : (JSON.parse(row.origin) as DeploymentOrigin),
    logToken: row.log_token,
    external: row.external === null ? null : (JSON.parse(row.external) as ExternalDeployment),
  };
}

export function toEvent(row: EventRow): StoredEvent {
  return { id: row.id, type: row.type, at: row.at, data: JSON.parse(row.data) as unknown };
}

export function toAudit(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditRecord['outcome'],
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

export { environmentWide, toApproval, toJson, toLock, toMessageRef, toRelease, type ApprovalRow, type LockRow, type MessageRefRow, type ReleaseRow } from '../row-mappers.js';
