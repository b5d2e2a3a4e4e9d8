import type { MessageRef } from '../../core/model.js';
import type { Sql } from './db.js';
import { type MessageRefRow, toMessageRef } from './rows.js';

/** Chat message references and seen keys of the PostgreSQL store. */

export async function upsertMessageRef(sql: Sql, ref: MessageRef): Promise<void> {
  await sql.run(
    `INSERT INTO message_refs (kind, key, adapter, channel, ts, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (kind, key, adapter) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, updated_at = excluded.updated_at`,
    [ref.kind, ref.key, ref.adapter, ref.channel, ref.ts, ref.updatedAt],
  );
}

export async function messageRef(sql: Sql, kind: string, key: string, adapter: string): Promise<MessageRef | null> {
  const row = await sql.row<MessageRefRow>('SELECT * FROM message_refs WHERE kind = $1 AND key = $2 AND adapter = $3', [kind, key, adapter]);
  return row === undefined ? null : toMessageRef(row);
}

/** True the first time (scope, key) is recorded; the primary key makes this atomic across processes. */
export async function insertSeenKey(sql: Sql, scope: string, key: string, at: string): Promise<boolean> {
  return (await sql.run('INSERT INTO seen_keys (scope, key, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [scope, key, at])) === 1;
}

export async function seenKeyExists(sql: Sql, scope: string, key: string): Promise<boolean> {
  return (await sql.row('SELECT 1 FROM seen_keys WHERE scope = $1 AND key = $2', [scope, key])) !== undefined;
}
