import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import type { IncidentPhase, IncidentUpdate, Job } from '../core/model.js';

const phaseFor: Record<string, IncidentPhase | undefined> = {
  CRITICAL: 'triggered',
  WARNING: 'triggered',
  ACKNOWLEDGEMENT: 'acknowledged',
  RECOVERY: 'resolved',
};

/** What an escalation webhook's fields say about an incident; null for INFO and other timeline-only alerts. */
export function incidentUpdate(fields: Record<string, string>, at: string): IncidentUpdate | null {
  const phase = phaseFor[(fields.message_type ?? '').toUpperCase()];
  if (!phase || !fields.entity_id) return null;
  // Whether Splunk On-Call sends the incident number is not documented; use it when it does.
  const number = fields.INCIDENT_NAME ?? fields.incident_name ?? fields.incident_number ?? null;
  return {
    entityId: fields.entity_id,
    phase,
    at,
    number,
    title: fields.entity_display_name || null,
    message: fields.state_message || null,
    routingKey: fields.routing_key || null,
    // ack_author is the only author field an alert carries (for ACKNOWLEDGEMENT and RECOVERY alike); a
    // recovery without one (a monitoring tool's all-clear) names no one, and the store keeps it that way.
    by: phase === 'triggered' ? null : fields.ack_author || null,
  };
}

/** Record an incident change and announce it (incident.triggered|acknowledged|resolved) when it is news. */
export async function applyIncident(deps: { store: Store; bus: EventBus }, update: IncidentUpdate, source: string): Promise<boolean> {
  const { incident, changed } = await deps.store.recordIncident(update);
  if (changed) await deps.bus.emit(`incident.${incident.phase}`, { incident }, source);
  return changed;
}

/** Job handler for stored Splunk On-Call webhooks. */
export function createVictorOpsDeliveryHandler(options: { store: Store; bus: EventBus; clock: Clock; logger: Logger }) {
  return async (job: Job): Promise<void> => {
    const { deliveryId } = job.payload as { deliveryId: number };
    const delivery = await options.store.getDelivery(deliveryId);
    if (!delivery) throw new Error(`splunk on-call delivery ${deliveryId} is missing`);
    const update = incidentUpdate(delivery.body as Record<string, string>, delivery.receivedAt);
    if (!update) {
      options.logger.info({ messageType: (delivery.body as Record<string, string>).message_type }, 'splunk on-call webhook: not an incident change');
      return;
    }
    const changed = await applyIncident(options, update, 'splunk-oncall');
    options.logger.info({ entity: update.entityId, phase: update.phase, changed }, 'splunk on-call incident');
  };
}
