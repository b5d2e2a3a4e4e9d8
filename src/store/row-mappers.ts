import type { Approval, Incident, IncidentPhase, Instance, Lock, MessageRef, Release } from '../core/model.js';

/**
 * Rows that look the same on SQLite and PostgreSQL (no JSON columns), and their domain objects.
 * Each backend's rows.ts adds the rows whose columns differ (JSON as TEXT or as json).
 */

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
