import type { Approval, AuditRecord, Delivery, Deployment, DeploymentOrigin, DeploymentRun, DeploymentSource, DeploymentState, ExternalDeployment, Incident, IncidentPhase, Instance, Job, Lock, MessageRef, Release, ScriptProcess, StoredEvent } from '../core/model.js';

/**
 * Rows as both backends return them, and their domain objects. Only two kinds of column differ
 * between SQLite and PostgreSQL — JSON (TEXT there, json here) and flags (0/1 there, booleans
 * here) — so the mappers that read such columns take the backend's ColumnCodec.
 */

/** How a backend hands back its JSON and flag columns. */
export interface ColumnCodec {
  json<T>(value: unknown): T | null;
  flag(value: unknown): boolean;
}

/** SQLite: JSON as TEXT, flags as 0/1. */
export const textColumns: ColumnCodec = {
  json: <T>(value: unknown) => (value === null || value === undefined ? null : (JSON.parse(value as string) as T)),
  flag: (value) => value === 1,
};

/** PostgreSQL (node-postgres): json already parsed, booleans as booleans. */
export const nativeColumns: ColumnCodec = {
  json: <T>(value: unknown) => (value ?? null) as T | null,
  flag: (value) => value === true,
};

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
  /** Flags and JSON columns: decoded by the backend's ColumnCodec. */
  dry_run: unknown;
  forced: unknown;
  rollback_of: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  reason: string | null;
  log_tail: string | null;
  origin: unknown;
  log_token: string;
  external: unknown;
  external_key?: string | null;
  /** Migration 10: who runs it, by when, its script's process group, and a hold on its target. */
  run_owner: string | null;
  run_deadline: string | null;
  run_process: unknown;
  held_until: string | null;
}

export function deploymentFrom(row: DeploymentRow, columns: ColumnCodec): Deployment {
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
    dryRun: columns.flag(row.dry_run),
    forced: columns.flag(row.forced),
    rollbackOf: row.rollback_of,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code,
    reason: row.reason,
    logTail: row.log_tail,
    origin: columns.json<DeploymentOrigin>(row.origin),
    logToken: row.log_token,
    external: columns.json<ExternalDeployment>(row.external),
  };
}

/** Who runs a deployment (migration 10). */
export function runFrom(row: DeploymentRow, columns: ColumnCodec): DeploymentRun {
  return { owner: row.run_owner, deadline: row.run_deadline, process: columns.json<ScriptProcess>(row.run_process), heldUntil: row.held_until };
}

export interface EventRow {
  id: number;
  type: string;
  at: string;
  data: unknown;
}

export function eventFrom(row: EventRow, columns: ColumnCodec): StoredEvent {
  return { id: row.id, type: row.type, at: row.at, data: columns.json<unknown>(row.data) };
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: unknown;
  /** Schema version 15. */
  app?: string | null;
  environment?: string | null;
}

export function auditFrom(row: AuditRow, columns: ColumnCodec): AuditRecord {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditRecord['outcome'],
    details: columns.json<Record<string, unknown>>(row.details) ?? {},
    app: row.app ?? null,
    environment: row.environment ?? null,
  };
}

export interface DeliveryRow {
  id: number;
  source: string;
  delivery_id: string;
  received_at: string;
  content_type: string;
  headers: unknown;
  query: unknown;
  body: unknown;
}

export function deliveryFrom(row: DeliveryRow, columns: ColumnCodec): Delivery {
  return {
    id: row.id,
    source: row.source,
    deliveryId: row.delivery_id,
    receivedAt: row.received_at,
    contentType: row.content_type,
    headers: columns.json<Record<string, string>>(row.headers) ?? {},
    query: columns.json<Record<string, string>>(row.query) ?? {},
    body: columns.json<unknown>(row.body),
  };
}

export interface JobRow {
  id: number;
  type: string;
  key: string | null;
  payload: unknown;
  state: Job['state'];
  attempts: number;
  max_attempts: number;
  run_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

export function jobFrom(row: JobRow, columns: ColumnCodec): Job {
  return {
    id: row.id,
    type: row.type,
    key: row.key,
    payload: columns.json<unknown>(row.payload),
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAt: row.run_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

export interface ReleaseRow {
  id: number;
  app: string;
  version: string;
  notes: string | null;
  created_by: string;
  created_at: string;
}

export function toRelease(row: ReleaseRow): Release {
  return { id: row.id, app: row.app, version: row.version, notes: row.notes, createdBy: row.created_by, createdAt: row.created_at };
}

export interface LockRow {
  environment: string;
  /** '' for an environment-wide lock. */
  app: string;
  holder: string;
  reason: string | null;
  since: string;
}

/** The `app` column value for an environment-wide lock (a unique key cannot hold NULL as a value). */
export const environmentWide = '';

export function toLock(row: LockRow): Lock {
  return { environment: row.environment, app: row.app === environmentWide ? null : row.app, holder: row.holder, reason: row.reason, since: row.since };
}

export interface MessageRefRow {
  kind: string;
  key: string;
  adapter: string;
  channel: string;
  ts: string;
  updated_at: string;
}

export function toMessageRef(row: MessageRefRow): MessageRef {
  return { kind: row.kind, key: row.key, adapter: row.adapter, channel: row.channel, ts: row.ts, updatedAt: row.updated_at };
}

export interface ApprovalRow {
  id: number;
  deployment_id: number;
  environment: string;
  requested_by: string;
  state: string;
  created_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
}

export function toApproval(row: ApprovalRow): Approval {
  return {
    id: row.id,
    deploymentId: row.deployment_id,
    environment: row.environment,
    requestedBy: row.requested_by,
    state: row.state as Approval['state'],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
  };
}

export interface IncidentRow {
  entity_id: string;
  generation: number;
  number: string | null;
  phase: IncidentPhase;
  title: string;
  message: string | null;
  routing_key: string | null;
  by_user: string | null;
  updated_at: string;
}

/** Phases only move forward: a repeat or a late update changes nothing. */
export const incidentRank: Record<IncidentPhase, number> = { triggered: 0, acknowledged: 1, resolved: 2 };

export function toIncident(row: IncidentRow): Incident {
  return {
    entityId: row.entity_id,
    generation: row.generation,
    number: row.number,
    phase: row.phase,
    title: row.title,
    message: row.message,
    routingKey: row.routing_key,
    by: row.by_user,
    updatedAt: row.updated_at,
  };
}

export interface InstanceRow {
  id: string;
  host: string;
  pid_scope: string | null;
  pid: number;
  started_at: string;
  expires_at: string;
  stopped_at: string | null;
}

export function toInstance(r: InstanceRow): Instance {
  return { id: r.id, host: r.host, pidScope: r.pid_scope, pid: r.pid, startedAt: r.started_at, expiresAt: r.expires_at, stoppedAt: r.stopped_at };
}

/** JSON for a JSON column. `undefined` (which JSON.stringify drops) is stored as null. */
export function toJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}
