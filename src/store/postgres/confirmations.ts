import type { PendingConfirmation } from '../../core/model.js';
import type { Sql } from './db.js';

/** Pending chat confirmations of the PostgreSQL store (Store.putConfirmation / takeConfirmation). */

interface ConfirmationRow {
  key: string;
  command: string;
  text: string;
  created_at: string;
  expires_at: string;
  live: boolean;
}

/** Replaces the question for its key; drops every other question expired at its createdAt. */
export async function upsertConfirmation(sql: Sql, c: PendingConfirmation): Promise<void> {
  await sql.run('DELETE FROM confirmations WHERE expires_at <= $1 AND key <> $2', [c.createdAt, c.key]);
  await sql.run(
    `INSERT INTO confirmations (key, command, text, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO UPDATE SET command = excluded.command, text = excluded.text, created_at = excluded.created_at, expires_at = excluded.expires_at`,
    [c.key, c.command, c.text, c.createdAt, c.expiresAt],
  );
}

/**
 * One DELETE ... RETURNING: a concurrent take of the same row waits for this one's row lock, then
 * finds the row gone and deletes (and returns) nothing — exactly one taker gets the question.
 */
export async function deleteConfirmation(sql: Sql, key: string, now: string): Promise<PendingConfirmation | null> {
  const row = await sql.row<ConfirmationRow>(
    'DELETE FROM confirmations WHERE key = $1 RETURNING key, command, text, created_at, expires_at, expires_at > $2::timestamptz AS live',
    [key, now],
  );
  if (row === undefined || !row.live) return null;
  return { key: row.key, command: row.command, text: row.text, createdAt: row.created_at, expiresAt: row.expires_at };
}
