/** On-call incidents as the store keeps them (Splunk On-Call webhooks and Deckhand's own acknowledgements). */

export type IncidentPhase = 'triggered' | 'acknowledged' | 'resolved';

/** An on-call incident (Splunk On-Call), one per entity at a time. */
export interface Incident {
  /** The alert's entity_id: what the incident is about. */
  entityId: string;
  /** 1 for the entity's first incident; a trigger after a resolution opens the next one. */
  generation: number;
  /** Splunk On-Call's incident number, once known. */
  number: string | null;
  phase: IncidentPhase;
  title: string;
  message: string | null;
  routingKey: string | null;
  /** Who moved it to its current phase (acknowledged or resolved it), when that change named someone; null otherwise. */
  by: string | null;
  updatedAt: string;
}

export interface IncidentUpdate {
  entityId: string;
  phase: IncidentPhase;
  at: string;
  number?: string | null;
  title?: string | null;
  message?: string | null;
  routingKey?: string | null;
  by?: string | null;
}
