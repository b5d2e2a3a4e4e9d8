import type { Prepare } from './approvals.js';

/** Rows whose slot passed this long ago are deleted (a channel nobody posts to any more). */
const STALE_MS = 24 * 60 * 60 * 1000;

/**
 * Store.reserveChatSlot on SQLite. Run inside an immediate transaction: the write lock is taken
 * before the row is read, so two processes (or connections) never read the same next_at.
 */
export function reserveSlot(prepare: Prepare, adapter: string, channel: string, now: string, intervalMs: number): string {
  const nowMs = Date.parse(now);
  prepare('DELETE FROM chat_pacing WHERE next_at < ?').run(new Date(nowMs - STALE_MS).toISOString());
  const row = prepare('SELECT next_at FROM chat_pacing WHERE adapter = ? AND channel = ?').get(adapter, channel) as { next_at: string } | undefined;
  const slotMs = Math.max(row === undefined ? nowMs : Date.parse(row.next_at), nowMs);
  prepare('INSERT INTO chat_pacing (adapter, channel, next_at) VALUES (?, ?, ?) ON CONFLICT (adapter, channel) DO UPDATE SET next_at = excluded.next_at').run(
    adapter,
    channel,
    new Date(slotMs + intervalMs).toISOString(),
  );
  return new Date(slotMs).toISOString();
}
