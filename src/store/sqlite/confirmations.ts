import type { PendingConfirmation } from '../../core/model.js';
import type { Prepare } from './approvals.js';

/** Pending chat confirmations of the SQLite store (Store.putConfirmation / takeConfirmation). */

interface ConfirmationRow {
  key: string;
  command: string;
  text: string;
  created_at: string;
  expires_at: string;
}

const toConfirmation = (row: ConfirmationRow): PendingConfirmation => ({
  key: row.key,
  command: row.command,
  text: row.text,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

/** Replaces the question for its key; drops every question expired at its createdAt. Run in one transaction. */
export function upsertConfirmation(prepare: Prepare, confirmation: PendingConfirmation): void {
  prepare('DELETE FROM confirmations WHERE expires_at <= ?').run(confirmation.createdAt);
  prepare(`
    INSERT INTO confirmations (key, command, text, created_at, expires_at)
    VALUES (@key, @command, @text, @createdAt, @expiresAt)
    ON CONFLICT (key) DO UPDATE SET command = excluded.command, text = excluded.text, created_at = excluded.created_at, expires_at = excluded.expires_at`).run(confirmation);
}

/** One statement deletes and returns the row: of two takes (any processes), one gets it. */
export function deleteConfirmation(prepare: Prepare, key: string, now: string): PendingConfirmation | null {
  const row = prepare('DELETE FROM confirmations WHERE key = ? RETURNING *').get(key) as ConfirmationRow | undefined;
  return row !== undefined && row.expires_at > now ? toConfirmation(row) : null;
}
