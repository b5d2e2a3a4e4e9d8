import type { StoredEvent } from '../../core/model.js';
import { clampLimit, listLimits } from '../sqlite/query.js';
import { type Db, type Sql, lockSpace, serialize } from './db.js';
import { type EventRow, toEvent, toJson } from './rows.js';
import { where } from './where.js';

/** The event log of the PostgreSQL store. */

/**
 * Appends take turns (an advisory lock held to commit), so ids become visible in order and
 * `afterId` stays a resume cursor: with concurrent writers a sequence alone can commit id 8 after
 * a reader has already seen 9, and that reader would never see 8.
 */
export async function appendEvent(db: Db, event: { type: string; at: string; data: unknown }): Promise<StoredEvent> {
  return db.tx(async (sql) => {
    await serialize(sql, lockSpace.events, 'append');
    const row = await sql.row<EventRow>('INSERT INTO events (type, at, data) VALUES ($1, $2, $3) RETURNING *', [event.type, event.at, toJson(event.data)]);
    return toEvent(row!);
  });
}

/** Oldest first by id. */
export async function listEvents(sql: Sql, query: { type?: string; afterId?: number; limit?: number } = {}): Promise<StoredEvent[]> {
  const filter = where([
    query.afterId === undefined ? undefined : ['id > $', query.afterId],
    query.type === undefined ? undefined : ['type = $', query.type],
  ]);
  const limit = clampLimit(query.limit, listLimits.events);
  const rows = await sql.rows<EventRow>(`SELECT * FROM events ${filter.sql} ORDER BY id LIMIT $${filter.params.length + 1}`, [...filter.params, limit]);
  return rows.map(toEvent);
}

// The audit log's queries are in operator-queries.ts (appending derives app and environment).
