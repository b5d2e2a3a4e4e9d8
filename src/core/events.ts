import type { Store } from '../store/types.js';
import type { Approval, Deployment, Incident, Lock, Release } from './model.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/**
 * The event catalog: one name space for everything reactions and adapters can listen to.
 * Later sources (GitHub, Octopus) emit the same names with a different `source`.
 */
export interface EventCatalog {
  'deployment.queued': { deployment: Deployment; waitingFor: number | null };
  'deployment.started': { deployment: Deployment };
  'deployment.succeeded': { deployment: Deployment };
  'deployment.failed': { deployment: Deployment };
  'deployment.cancelled': { deployment: Deployment };
  'approval.requested': { approval: Approval; deployment: Deployment };
  'approval.granted': { approval: Approval; deployment: Deployment };
  'approval.denied': { approval: Approval; deployment: Deployment };
  'approval.expired': { approval: Approval; deployment: Deployment };
  'release.created': { release: Release };
  /** A deployment target (a server, a Tentacle) joined an environment. Emitted by providers (Octopus). */
  'target.registered': { target: { name: string; app: string | null; environment: string | null; roles: string[] } };
  /** An app's deployment process changed. Emitted by providers (Octopus). */
  'process.updated': { process: { app: string; environment: string | null; version: string | null; changedBy: string | null } };
  'lock.acquired': { lock: Lock; previous: Lock | null };
  'lock.released': { lock: Lock; releasedBy: string };
  /** On-call incidents (Splunk On-Call), as its webhooks report them. */
  'incident.triggered': { incident: Incident };
  'incident.acknowledged': { incident: Incident };
  'incident.resolved': { incident: Incident };
}

export type EventType = keyof EventCatalog;
export const eventTypes: readonly EventType[] = [
  'deployment.queued',
  'deployment.started',
  'deployment.succeeded',
  'deployment.failed',
  'deployment.cancelled',
  'approval.requested',
  'approval.granted',
  'approval.denied',
  'approval.expired',
  'release.created',
  'target.registered',
  'process.updated',
  'lock.acquired',
  'lock.released',
  'incident.triggered',
  'incident.acknowledged',
  'incident.resolved',
];

export interface DeckhandEvent<T extends EventType = EventType> {
  id: number;
  type: T;
  at: string;
  source: string;
  data: EventCatalog[T];
}

export type AnyEvent = { [T in EventType]: DeckhandEvent<T> }[EventType];

export type EventHandler = (event: AnyEvent) => void | Promise<void>;

/** A line of a running deployment's output. Streamed, not stored as an event (the tail is kept on the deployment). */
export type OutputHandler = (deployment: Deployment, line: string, stream: 'stdout' | 'stderr') => void;

export class EventBus {
  private readonly handlers = new Set<EventHandler>();
  private readonly outputHandlers = new Set<OutputHandler>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  subscribeOutput(handler: OutputHandler): () => void {
    this.outputHandlers.add(handler);
    return () => this.outputHandlers.delete(handler);
  }

  /** Stores the event first, then runs every subscriber; one failing subscriber never stops the others. */
  async emit<T extends EventType>(type: T, data: EventCatalog[T], source = 'deckhand'): Promise<DeckhandEvent<T>> {
    const stored = await this.store.appendEvent({ type, at: this.clock.now().toISOString(), data: { source, ...data } });
    const event = { id: stored.id, type, at: stored.at, source, data } as DeckhandEvent<T>;
    const results = await Promise.allSettled([...this.handlers].map(async (handler) => handler(event as unknown as AnyEvent)));
    for (const result of results) {
      if (result.status === 'rejected') this.logger.error({ err: result.reason, eventId: event.id, type }, 'event subscriber failed');
    }
    return event;
  }

  output(deployment: Deployment, line: string, stream: 'stdout' | 'stderr'): void {
    for (const handler of this.outputHandlers) {
      try {
        handler(deployment, line, stream);
      } catch (err) {
        this.logger.error({ err, deploymentId: deployment.id }, 'output subscriber failed');
      }
    }
  }
}
