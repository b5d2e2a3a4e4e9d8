import type { Incident, IncidentUpdate } from '../../core/model.js';
import { incidentRank, toIncident, type IncidentRow } from '../row-mappers.js';
import { type Db, type Sql, lockSpace, serialize } from './db.js';

/** On-call incidents of the PostgreSQL store: the same rules as SQLite's (src/store/sqlite/incidents.ts). */

export async function incidentBy(sql: Sql, entityId: string): Promise<Incident | null> {
  const row = await sql.row<IncidentRow>('SELECT * FROM incidents WHERE entity_id = $1', [entityId]);
  return row === undefined ? null : toIncident(row);
}

/**
 * Moves an incident forward. A trigger after a resolution opens the next generation of the entity;
 * a phase that is not ahead of the current one changes nothing but may fill in the number. Runs
 * under the entity's advisory lock: two webhooks for one entity must not both see "no incident yet".
 */
export async function applyIncidentUpdate(db: Db, update: IncidentUpdate): Promise<{ incident: Incident; changed: boolean }> {
  return db.tx(async (sql) => {
    await serialize(sql, lockSpace.incident, update.entityId);
    const current = await incidentBy(sql, update.entityId);
    const write = async (generation: number, base: Partial<Incident>) => {
      const row = await sql.row<IncidentRow>(
        `INSERT INTO incidents (entity_id, generation, number, phase, title, message, routing_key, by_user, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (entity_id) DO UPDATE SET generation = excluded.generation, number = excluded.number, phase = excluded.phase,
           title = excluded.title, message = excluded.message, routing_key = excluded.routing_key, by_user = excluded.by_user, updated_at = excluded.updated_at
         RETURNING *`,
        [
          update.entityId,
          generation,
          update.number ?? base.number ?? null,
          update.phase,
          update.title ?? base.title ?? update.entityId,
          update.message ?? base.message ?? null,
          update.routingKey ?? base.routingKey ?? null,
          // Who made this change, never carried over: a recovery that names no one was not resolved by whoever acknowledged.
          update.phase === 'triggered' ? null : (update.by ?? null),
          update.at,
        ],
      );
      return toIncident(row!);
    };
    if (!current) return { incident: await write(1, {}), changed: true };
    if (current.phase === 'resolved' && update.phase === 'triggered') return { incident: await write(current.generation + 1, {}), changed: true };
    if (incidentRank[update.phase] <= incidentRank[current.phase]) {
      if (update.number && !current.number) {
        await sql.run('UPDATE incidents SET number = $1 WHERE entity_id = $2', [update.number, update.entityId]);
        return { incident: { ...current, number: update.number }, changed: false };
      }
      return { incident: current, changed: false };
    }
    return { incident: await write(current.generation, current), changed: true };
  });
}
