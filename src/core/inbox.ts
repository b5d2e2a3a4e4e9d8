/**
 * The webhook inbox and the job queue: stored deliveries, the jobs that process them, and how
 * operators list them. Part of the domain model (re-exported by ./model.ts).
 */

/** The outcomes deliveries can be listed by (REST, CLI, console). */
export const deliveryOutcomes = ['pending', 'running', 'done', 'ignored', 'dead'] as const;

/**
 * What became of a delivery: the state of the newest job that processes it (a replay makes a new
 * one); `ignored` when that job was done at intake (nothing acts on the delivery: a GitHub event
 * Deckhand does not handle), `unknown` when no job of it is left.
 */
export type DeliveryOutcome = (typeof deliveryOutcomes)[number] | 'unknown';

/** A delivery's outcome from its newest job (null: none left). A job done without an attempt was done at intake. */
export function outcomeOfJob(job: { state: JobState; attempts: number } | null): DeliveryOutcome {
  if (!job) return 'unknown';
  return job.state === 'done' && job.attempts === 0 ? 'ignored' : job.state;
}

/** A delivery as operators list it: without its body, with the outcome of its newest job. */
export interface DeliverySummary {
  id: number;
  source: string;
  deliveryId: string;
  receivedAt: string;
  contentType: string;
  /** 'unknown' when no job of it is left (retention deleted finished jobs). */
  outcome: DeliveryOutcome;
  /** The newest job processing it; null when none is left. */
  job: { id: number; type: string; state: JobState; attempts: number; lastError: string | null; finishedAt: string | null } | null;
  /** How many jobs processed it (1, plus one per replay). */
  jobs: number;
}

export interface DeliveryQuery {
  /** Just this delivery (a page of one, or none). */
  id?: number;
  source?: string;
  /** Only deliveries whose newest job is in this state ('dead': the failed ones). */
  outcome?: Exclude<DeliveryOutcome, 'unknown'>;
  /** Received at or after this instant. */
  since?: string;
  /** The `next` of the previous page. */
  cursor?: number;
  /** Default 50, at most 500. */
  limit?: number;
}

/**
 * One page of deliveries, newest first: by delivery id, or with `outcome` by the id of the newest
 * job (the most recently processed first). `next` is the cursor of the next page; null at the end.
 */
export interface DeliveryPage {
  deliveries: DeliverySummary[];
  next: number | null;
}

/** An accepted webhook request, kept exactly as it came (the inbox). */
export interface Delivery {
  id: number;
  /** Where it came from: "trigger:<name>", "github", ... */
  source: string;
  /** The sender's delivery id (or one Deckhand made); unique per source. */
  deliveryId: string;
  receivedAt: string;
  contentType: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  /** The parsed body (JSON, or the fields of a form). */
  body: unknown;
}

export type NewDelivery = Omit<Delivery, 'id'>;

export type JobState = 'pending' | 'running' | 'done' | 'dead';

/** A unit of durable work: persisted first, run by whichever worker takes its lease. */
export interface Job {
  id: number;
  type: string;
  /** Idempotency key: a second job with the same key is not created. */
  key: string | null;
  payload: unknown;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface NewJob {
  type: string;
  key?: string | null;
  payload: unknown;
  runAt: string;
  maxAttempts?: number;
}
