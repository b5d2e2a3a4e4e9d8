import type { PruneKind } from '../types.js';
import type { Prepare } from './approvals.js';

/**
 * Retention deletes of the SQLite store (Store.prune). Each picks at most `limit` rows, oldest
 * first, through an index of migration 12 (posts: 16; a live job of a delivery: jobs_by_delivery, 15), and deletes them by rowid: one short statement, so a
 * batch never holds the database for long.
 */
const statements: Record<PruneKind, string> = {
  deliveries: `
    DELETE FROM deliveries WHERE id IN (
      SELECT id FROM deliveries
      WHERE received_at < @before
        AND NOT EXISTS (
          -- A lookup in jobs_by_delivery (a delivery has one job or a few); the unary + keeps the
          -- planner from walking the index instead.
          SELECT 1 FROM jobs INDEXED BY jobs_by_delivery
          WHERE json_extract(payload, '$.deliveryId') = +deliveries.id AND state IN ('pending', 'running')
        )
      ORDER BY received_at LIMIT @limit
    )`,
  jobs: `
    DELETE FROM jobs WHERE id IN (
      -- INDEXED BY: with jobs_by_state (state, id) the planner would sort every finished job by finished_at.
      SELECT id FROM jobs INDEXED BY jobs_finished WHERE state IN ('done', 'dead') AND finished_at < @before
        -- A reaction's once_per key (reaction:<name>:once:<value>) is its memory of what it already ran:
        -- deleting it would let the same value run again. Those jobs stay.
        AND (key IS NULL OR key NOT LIKE 'reaction:%:once:%')
      ORDER BY finished_at LIMIT @limit
    )`,
  seen: `
    DELETE FROM seen_keys WHERE rowid IN (
      SELECT rowid FROM seen_keys WHERE at < @before ORDER BY at LIMIT @limit
    )`,
  events: `
    DELETE FROM events WHERE id IN (
      SELECT id FROM events WHERE at < @before ORDER BY at LIMIT @limit
    )`,
  audit: `
    DELETE FROM audit_log WHERE id IN (
      SELECT id FROM audit_log WHERE at < @before ORDER BY at LIMIT @limit
    )`,
  logs: `
    DELETE FROM deployment_logs WHERE rowid IN (
      SELECT deployment_logs.rowid FROM deployments
      JOIN deployment_logs ON deployment_logs.deployment_id = deployments.id
      WHERE deployments.finished_at < @before AND deployments.held_until IS NULL
      LIMIT @limit
    )`,
  posts: `
    DELETE FROM message_refs WHERE rowid IN (
      SELECT rowid FROM message_refs INDEXED BY message_refs_steps
      WHERE kind = 'reaction-step' AND updated_at < @before ORDER BY updated_at LIMIT @limit
    )`,
};

export function pruneRows(prepare: Prepare, kind: PruneKind, before: string, limit: number): number {
  const sql = statements[kind];
  if (sql === undefined) throw new Error(`unknown retention kind: ${String(kind)}`);
  return prepare(sql).run({ before, limit: Math.max(0, Math.floor(limit)) }).changes;
}
