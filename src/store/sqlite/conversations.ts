import type { ChatConversation } from '../../core/model.js';
import type { Prepare } from './approvals.js';

/** Chat conversation addresses (migration 17) on SQLite. */

interface ConversationRow {
  adapter: string;
  conversation_id: string;
  service_url: string;
  tenant_id: string | null;
  updated_at: string;
}

/** Inserts or moves the address; an older write (by updatedAt) does not replace a newer one. */
export function upsertConversation(prepare: Prepare, c: ChatConversation): void {
  prepare(`
    INSERT INTO chat_conversations (adapter, conversation_id, service_url, tenant_id, updated_at)
    VALUES (@adapter, @conversationId, @serviceUrl, @tenantId, @updatedAt)
    ON CONFLICT (adapter, conversation_id) DO UPDATE SET service_url = excluded.service_url, tenant_id = excluded.tenant_id, updated_at = excluded.updated_at
    WHERE excluded.updated_at >= chat_conversations.updated_at`).run(c);
}

export function conversationBy(prepare: Prepare, adapter: string, conversationId: string): ChatConversation | null {
  const row = prepare('SELECT * FROM chat_conversations WHERE adapter = ? AND conversation_id = ?').get(adapter, conversationId) as ConversationRow | undefined;
  return row === undefined ? null : { adapter: row.adapter, conversationId: row.conversation_id, serviceUrl: row.service_url, tenantId: row.tenant_id, updatedAt: row.updated_at };
}
