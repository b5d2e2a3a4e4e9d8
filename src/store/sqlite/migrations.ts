import type { Database } from 'better-sqlite3';
import { migrations } from './schema-versions.js';

/**
 * Schema migrations for the SQLite store (the list is in ./schema-versions.ts: append new ones at
 * the end with the next version; never edit one that has shipped). Each runs in its own IMMEDIATE transaction together with
 * its row in `schema_migrations`, so a crash leaves the schema at a known version and two
 * processes starting at once cannot both apply the same migration.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export { migrations };

const createTrackingTable = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
  )
`;

function currentVersion(db: Database): number {
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as
    | { version: number | null }
    | undefined;
  return row?.version ?? 0;
}

/**
 * Applies every migration newer than the database's version. Idempotent: returns the versions
 * it applied (empty when the schema was already current).
 */
export function runMigrations(db: Database, list: readonly Migration[] = migrations): number[] {
  db.exec(createTrackingTable);
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  for (const migration of [...list].sort((a, b) => a.version - b.version)) {
    const apply = db.transaction(() => {
      // Re-checked inside the write lock: another process may have just applied it.
      if (currentVersion(db) >= migration.version) return false;
      db.exec(migration.sql);
      record.run(migration.version, new Date().toISOString());
      return true;
    });
    if (apply.immediate()) applied.push(migration.version);
  }
  return applied;
}
