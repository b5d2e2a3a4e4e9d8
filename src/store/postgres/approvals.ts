import type { Approval, ApprovalState } from '../../core/model.js';
import type { Sql } from './db.js';
import { type ApprovalRow, toApproval } from './rows.js';

/** Approval queries of the PostgreSQL store. */

export async function insertApproval(sql: Sql, input: { deploymentId: number; environment: string; requestedBy: string; createdAt: string; expiresAt: string }): Promise<Approval> {
  const row = await sql.row<ApprovalRow>(
    `INSERT INTO approvals (deployment_id, environment, requested_by, state, created_at, expires_at)
     VALUES ($1, $2, $3, 'pending', $4, $5) RETURNING *`,
    [input.deploymentId, input.environment, input.requestedBy, input.createdAt, input.expiresAt],
  );
  return toApproval(row!);
}

export async function approvalBy(sql: Sql, column: 'id' | 'deployment_id', value: number): Promise<Approval | null> {
  const row = await sql.row<ApprovalRow>(`SELECT * FROM approvals WHERE ${column} = $1`, [value]);
  return row === undefined ? null : toApproval(row);
}

/** Only a pending approval is decided: a second click finds nothing to change and resolves null. */
export async function decide(sql: Sql, id: number, decision: { state: Exclude<ApprovalState, 'pending'>; decidedBy: string; decidedAt: string }): Promise<Approval | null> {
  const row = await sql.row<ApprovalRow>(
    `UPDATE approvals SET state = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND state = 'pending' RETURNING *`,
    [id, decision.state, decision.decidedBy, decision.decidedAt],
  );
  return row === undefined ? null : toApproval(row);
}

export async function expiredApprovals(sql: Sql, now: string): Promise<Approval[]> {
  const rows = await sql.rows<ApprovalRow>(`SELECT * FROM approvals WHERE state = 'pending' AND expires_at <= $1 ORDER BY id`, [now]);
  return rows.map(toApproval);
}
