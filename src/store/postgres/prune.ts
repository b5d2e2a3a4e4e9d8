import type { PruneKind } from '../types.js';
import type { Sql } from './db.js';

/**
 * Retention deletes of the PostgreSQL store (Store.prune), the same rules as SQLite's
 * (src/store/sqlite/prune.ts). Each picks at most $2 rows, oldest first, through an index of
 * migration 12. Concurrent prunes from several replicas are harmless: a row another one deleted
 * first is simply not deleted twice.
 */
const statements: Record<PruneKind, string> = {
  deliveries: `
    DELETE FROM deliveries WHERE id IN (
      SELECT d.id FROM deliveries d
      WHERE d.received_at < $1
        AND NOT EXISTS (
          SELECT 1 FROM jobs j
          WHERE j.state IN ('pending', 'running') AND (j.payload ->> 'deliveryId') = d.id::text
        )
      ORDER BY d.received_at LIMIT $2
    )`,
  jobs: `
    DELETE FROM jobs WHERE id IN (
      SELECT id FROM jobs WHERE state IN ('done', 'dead') AND finished_at < $1
        -- A reaction's once_per key (reaction:<name>:once:<value>) is its memory of what it already ran:
        -- deleting it would let the same value run again. Those jobs stay.
        AND (key IS NULL OR key NOT LIKE 'reaction:%:once:%')
      ORDER BY finished_at LIMIT $2
    )`,
  seen: `
    DELETE FROM seen_keys WHERE (scope, key) IN (
      SELECT scope, key FROM seen_keys WHERE at < $1 ORDER BY at LIMIT $2
    )`,
  events: `
    DELETE FROM events WHERE id IN (
      SELECT id FROM events WHERE at < $1 ORDER BY at LIMIT $2
    )`,
  audit: `
    DELETE FROM audit_log WHERE id IN (
      SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2
    )`,
  logs: `
    DELETE FROM deployment_logs WHERE (deployment_id, seq) IN (
      SELECT l.deployment_id, l.seq FROM deployments d
      JOIN deployment_logs l ON l.deployment_id = d.id
      WHERE d.finished_at < $1 AND d.held_until IS NULL
      LIMIT $2
    )`,
  posts: `
    DELETE FROM message_refs WHERE (kind, key, adapter) IN (
      SELECT kind, key, adapter FROM message_refs
      WHERE kind = 'reaction-step' AND updated_at < $1 ORDER BY updated_at LIMIT $2
    )`,
};

export async function pruneRows(sql: Sql, kind: PruneKind, before: string, limit: number): Promise<number> {
  const text = statements[kind];
  if (text === undefined) throw new Error(`unknown retention kind: ${String(kind)}`);
  return sql.run(text, [before, Math.max(0, Math.floor(limit))]);
}
