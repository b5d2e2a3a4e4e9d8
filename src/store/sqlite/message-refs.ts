import type { MessageRef } from '../../core/model.js';
import { toMessageRef, type MessageRefRow } from './rows.js';

import type { Prepare } from './approvals.js';

export function upsertMessageRef(prepare: Prepare, ref: MessageRef): void {
  prepare(`
    INSERT INTO message_refs (kind, key, adapter, channel, ts, updated_at)
    VALUES (@kind, @key, @adapter, @channel, @ts, @updatedAt)
    ON CONFLICT (kind, key, adapter) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, updated_at = excluded.updated_at`).run(ref);
}

export function messageRef(prepare: Prepare, kind: string, key: string, adapter: string): MessageRef | null {
  const row = prepare('SELECT * FROM message_refs WHERE kind = ? AND key = ? AND adapter = ?').get(kind, key, adapter);
  return row === undefined ? null : toMessageRef(row as MessageRefRow);
}

/** True the first time (scope, key) is recorded; the primary key makes this atomic across processes. */
export function insertSeenKey(prepare: Prepare, scope: string, key: string, at: string): boolean {
  return prepare('INSERT INTO seen_keys (scope, key, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(scope, key, at).changes === 1;
}

export function seenKeyExists(prepare: Prepare, scope: string, key: string): boolean {
  return prepare('SELECT 1 FROM seen_keys WHERE scope = ? AND key = ?').get(scope, key) !== undefined;
}
