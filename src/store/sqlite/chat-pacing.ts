import { checkPacing } from '../chat-pacing.js';
import type { Prepare } from './approvals.js';

/** Rows whose theoretical arrival time passed this long ago are deleted (a channel nobody posts to any more). */
const STALE_MS = 24 * 60 * 60 * 1000;

/**
 * Store.reserveChatSlot on SQLite: the generic cell rate algorithm. next_at is the channel's
 * theoretical arrival time (TAT); a reservation at `now` gets max(now, TAT − (burst − 1) × interval)
 * and moves TAT to max(TAT, now) + interval. Run inside an immediate transaction: the write lock is
 * taken before the row is read, so two processes (or connections) never read the same next_at.
 */
export function reserveSlot(prepare: Prepare, adapter: string, channel: string, now: string, intervalMs: number, burst: number): string {
  checkPacing(intervalMs, burst);
  const nowMs = Date.parse(now);
  prepare('DELETE FROM chat_pacing WHERE next_at < ?').run(new Date(nowMs - STALE_MS).toISOString());
  const row = prepare('SELECT next_at FROM chat_pacing WHERE adapter = ? AND channel = ?').get(adapter, channel) as { next_at: string } | undefined;
  // No row: the channel is idle (TAT in the past), the same as TAT = now.
  const tatMs = row === undefined ? nowMs : Date.parse(row.next_at);
  const slotMs = Math.max(nowMs, tatMs - (burst - 1) * intervalMs);
  prepare('INSERT INTO chat_pacing (adapter, channel, next_at) VALUES (?, ?, ?) ON CONFLICT (adapter, channel) DO UPDATE SET next_at = excluded.next_at').run(
    adapter,
    channel,
    new Date(Math.max(tatMs, nowMs) + intervalMs).toISOString(),
  );
  return new Date(slotMs).toISOString();
}
