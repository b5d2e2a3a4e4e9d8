import { checkPacing } from '../chat-pacing.js';
import type { Sql } from './db.js';

/** Rows whose theoretical arrival time passed this long ago are deleted (a channel nobody posts to any more). */
const STALE_MS = 24 * 60 * 60 * 1000;

/**
 * Store.reserveChatSlot on PostgreSQL, one statement: the generic cell rate algorithm, next_at
 * being the channel's theoretical arrival time (TAT). The upsert takes the channel's row lock
 * before it reads next_at, so of concurrent reservations (any process) each sees the one before
 * it. It stores TAT' = max(TAT, now) + interval and returns the slot max(now, TAT − (burst − 1) ×
 * interval), which is max(now, TAT' − burst × interval) (when now > TAT both are now). Stale rows
 * of other channels are deleted in passing; SKIP LOCKED keeps that from ever waiting on (or
 * deadlocking with) another reservation.
 */
export async function reserveSlot(sql: Sql, adapter: string, channel: string, now: string, intervalMs: number, burst: number): Promise<string> {
  checkPacing(intervalMs, burst);
  const row = await sql.row<{ slot: string }>(
    `WITH stale AS (
       SELECT adapter, channel FROM chat_pacing
       WHERE next_at < $5::timestamptz AND NOT (adapter = $1 AND channel = $2)
       LIMIT 100 FOR UPDATE SKIP LOCKED
     ), pruned AS (
       DELETE FROM chat_pacing p USING stale s WHERE p.adapter = s.adapter AND p.channel = s.channel
     )
     INSERT INTO chat_pacing AS c (adapter, channel, next_at) VALUES ($1, $2, $3::timestamptz + $4::integer * interval '1 millisecond')
     ON CONFLICT (adapter, channel) DO UPDATE SET next_at = GREATEST(c.next_at, $3::timestamptz) + $4::integer * interval '1 millisecond'
     RETURNING GREATEST($3::timestamptz, c.next_at - $4::integer * interval '1 millisecond' * $6::integer) AS slot`,
    [adapter, channel, now, intervalMs, new Date(Date.parse(now) - STALE_MS).toISOString(), burst],
  );
  return (row as { slot: string }).slot;
}
