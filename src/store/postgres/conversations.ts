import type { ChatConversation } from '../../core/model.js';
import type { Sql } from './db.js';

/** Chat conversation addresses (migration 17) on PostgreSQL. */

interface ConversationRow {
  adapter: string;
  conversation_id: string;
  service_url: string;
  tenant_id: string | null;
  updated_at: string;
}

/** Inserts or moves the address; an older write (by updatedAt) does not replace a newer one. */
export async function upsertConversation(sql: Sql, c: ChatConversation): Promise<void> {
  await sql.run(
    `INSERT INTO chat_conversations (adapter, conversation_id, service_url, tenant_id, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (adapter, conversation_id) DO UPDATE SET service_url = excluded.service_url, tenant_id = excluded.tenant_id, updated_at = excluded.updated_at
     WHERE excluded.updated_at >= chat_conversations.updated_at`,
    [c.adapter, c.conversationId, c.serviceUrl, c.tenantId, c.updatedAt],
  );
}

export async function conversationBy(sql: Sql, adapter: string, conversationId: string): Promise<ChatConversation | null> {
  const row = await sql.row<ConversationRow>('SELECT * FROM chat_conversations WHERE adapter = $1 AND conversation_id = $2', [adapter, conversationId]);
  return row === undefined ? null : { adapter: row.adapter, conversationId: row.conversation_id, serviceUrl: row.service_url, tenantId: row.tenant_id, updatedAt: row.updated_at };
}
