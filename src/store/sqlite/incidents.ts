import type { Incident, IncidentUpdate } from '../../core/model.js';
import { incidentRank, toIncident, type IncidentRow } from '../row-mappers.js';
import type { Prepare } from './approvals.js';

export function incidentBy(prepare: Prepare, entityId: string): Incident | null {
  const row = prepare('SELECT * FROM incidents WHERE entity_id = ?').get(entityId) as IncidentRow | undefined;
  return row === undefined ? null : toIncident(row);
}

/**
 * Moves an incident forward (run inside a write transaction). A trigger after a resolution opens
 * the next generation of the entity (a new incident); a phase that is not ahead of the current one
 * (a repeat, or out of order) changes nothing but may fill in what was missing (the number).
 */
export function applyIncidentUpdate(prepare: Prepare, update: IncidentUpdate): { incident: Incident; changed: boolean } {
  const current = incidentBy(prepare, update.entityId);
  const write = (generation: number, base: Partial<Incident>) => {
    const row = prepare(`
      INSERT INTO incidents (entity_id, generation, number, phase, title, message, routing_key, by_user, updated_at)
      VALUES (@entityId, @generation, @number, @phase, @title, @message, @routingKey, @by, @at)
      ON CONFLICT (entity_id) DO UPDATE SET generation = excluded.generation, number = excluded.number, phase = excluded.phase,
        title = excluded.title, message = excluded.message, routing_key = excluded.routing_key, by_user = excluded.by_user, updated_at = excluded.updated_at
      RETURNING *`).get({
      entityId: update.entityId,
      generation,
      number: update.number ?? base.number ?? null,
      phase: update.phase,
      title: update.title ?? base.title ?? update.entityId,
      message: update.message ?? base.message ?? null,
      routingKey: update.routingKey ?? base.routingKey ?? null,
      // Who made this change, never carried over: a recovery that names no one was not resolved by whoever acknowledged.
      by: update.phase === 'triggered' ? null : (update.by ?? null),
      at: update.at,
    }) as IncidentRow;
    return toIncident(row);
  };
  if (!current) return { incident: write(1, {}), changed: true };
  if (current.phase === 'resolved' && update.phase === 'triggered') return { incident: write(current.generation + 1, {}), changed: true };
  if (incidentRank[update.phase] <= incidentRank[current.phase]) {
    if (update.number && !current.number) {
      prepare('UPDATE incidents SET number = ? WHERE entity_id = ?').run(update.number, update.entityId);
      return { incident: { ...current, number: update.number }, changed: false };
    }
    return { incident: current, changed: false };
  }
  return { incident: write(current.generation, current), changed: true };
}
