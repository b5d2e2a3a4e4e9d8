import type Database from 'better-sqlite3';
import type { Approval, ApprovalState } from '../../core/model.js';
import { toApproval, type ApprovalRow } from './rows.js';

export type Prepare = (sql: string) => Database.Statement<unknown[], unknown>;

/** Approval queries of the SQLite store; the statements are prepared once by the store's cache. */
export function insertApproval(prepare: Prepare, input: { deploymentId: number; environment: string; requestedBy: string; createdAt: string; expiresAt: string }): Approval {
  const row = prepare(`
    INSERT INTO approvals (deployment_id, environment, requested_by, state, created_at, expires_at)
    VALUES (@deploymentId, @environment, @requestedBy, 'pending', @createdAt, @expiresAt)
    RETURNING *`).get(input) as ApprovalRow;
  return toApproval(row);
}

export function approvalBy(prepare: Prepare, column: 'id' | 'deployment_id', value: number): Approval | null {
  const row = prepare(`SELECT * FROM approvals WHERE ${column} = ?`).get(value) as ApprovalRow | undefined;
  return row === undefined ? null : toApproval(row);
}

export function decide(prepare: Prepare, id: number, decision: { state: Exclude<ApprovalState, 'pending'>; decidedBy: string; decidedAt: string }): Approval | null {
  const row = prepare(`
    UPDATE approvals SET state = @state, decided_by = @decidedBy, decided_at = @decidedAt
    WHERE id = @id AND state = 'pending'
    RETURNING *`).get({ id, ...decision }) as ApprovalRow | undefined;
  return row === undefined ? null : toApproval(row);
}

export function expiredApprovals(prepare: Prepare, now: string): Approval[] {
  const rows = prepare(`SELECT * FROM approvals WHERE state = 'pending' AND expires_at <= ? ORDER BY id`).all(now) as ApprovalRow[];
  return rows.map(toApproval);
}
