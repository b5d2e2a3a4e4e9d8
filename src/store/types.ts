/**
 * The store interface. Every method is asynchronous even though better-sqlite3 is synchronous,
 * so a PostgreSQL backend drops in without touching a caller. Timestamps are ISO-8601 strings (UTC).
 */

import type { Incident, IncidentUpdate } from './incident-types.js';

export type DeploymentState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const finishedStates: readonly DeploymentState[] = ['succeeded', 'failed', 'cancelled'];

/** Where a deployment request came from. */
export type DeploymentSource = 'chat' | 'webhook' | 'schedule' | 'api' | 'reaction';

/** Where a chat request came from, so adapters can react to it and thread under it. */
export interface DeploymentOrigin {
  adapter: string;
  room: string;
  /** The platform's id of the requesting message (Slack: its ts). */
  messageId: string;
  thread?: string | null;
}

export interface Deployment {
  id: number;
  app: string;
  environment: string;
  ref: string;
  state: DeploymentState;
  provider: string;
  source: DeploymentSource;
  requestedBy: string;
  /** Chat room the request came from, when it came from chat. */
  room: string | null;
  dryRun: boolean;
  forced: boolean;
  /** For a rollback: the id of the deployment whose ref is being redeployed. */
  rollbackOf: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  /** Why it failed or was cancelled, in one line. */
  reason: string | null;
  /** The last part of the output (bounded, secrets redacted). */
  logTail: string | null;
  /** The chat message that asked for it, when one did. */
  origin: DeploymentOrigin | null;
  /** Random, unguessable: the capability in the deployment's log URL. */
  logToken: string;
  /** The same deployment in another system (a GitHub deployment, an Octopus task), when there is one. */
  external: ExternalDeployment | null;
}

/**
 * A deployment's twin in another system. Deckhand either runs it and reports back (a GitHub
 * deployment it runs) or only mirrors it (provider `external:<system>`: another tool runs it,
 * and Deckhand follows its statuses so notices and reactions see it like any other).
 */
export interface ExternalDeployment {
  /** "github", "octopus". */
  system: string;
  /** The id there (unique per system). */
  id: string;
  /** GitHub: owner/name. */
  repository?: string;
  /** Where people can look at it there. */
  url?: string;
  /** The log as the other system shows it (a mirrored deployment has no Deckhand log). */
  logUrl?: string;
  /** Where the deployed thing can be seen. */
  environmentUrl?: string;
}

/** Mirrored deployments are run elsewhere: Deckhand's queue never claims them. */
export const externalProvider = (system: string): string => `external:${system}`;
export const isMirrored = (d: { provider: string }): boolean => d.provider.startsWith('external:');

export interface LogLine {
  seq: number;
  stream: 'stdout' | 'stderr';
  line: string;
  at: string;
}

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired';

/** A request to approve a deployment to a protected environment. */
export interface Approval {
  id: number;
  deploymentId: number;
  environment: string;
  requestedBy: string;
  state: ApprovalState;
  createdAt: string;
  expiresAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
}

export interface NewDeployment {
  app: string;
  environment: string;
  ref: string;
  provider: string;
  source: DeploymentSource;
  requestedBy: string;
  room?: string | null;
  dryRun?: boolean;
  forced?: boolean;
  rollbackOf?: number | null;
  origin?: DeploymentOrigin | null;
  external?: ExternalDeployment | null;
  createdAt: string;
  /** When set, the deployment waits for this approval before it can be claimed. */
  approval?: { expiresAt: string } | null;
}

export interface DeploymentOutcome {
  state: Extract<DeploymentState, 'succeeded' | 'failed' | 'cancelled'>;
  finishedAt: string;
  exitCode?: number | null;
  reason?: string | null;
  logTail?: string | null;
}

export interface DeploymentQuery {
  app?: string;
  environment?: string;
  states?: DeploymentState[];
  /** Newest first; default 10, at most 100. */
  limit?: number;
  /** Only deployments with an id lower than this (paging, "the one before"). */
  beforeId?: number;
}

export interface Release {
  id: number;
  app: string;
  version: string;
  notes: string | null;
  createdBy: string;
  createdAt: string;
}

export interface NewRelease {
  app: string;
  version: string;
  notes?: string | null;
  createdBy: string;
  createdAt: string;
}

/** A lock on an environment, for every app (app = null) or for one app. */
export interface Lock {
  environment: string;
  app: string | null;
  holder: string;
  reason: string | null;
  since: string;
}

export interface AcquireLockResult {
  lock: Lock;
  /** The lock that was taken over, when takeover was used on someone else's lock. */
  previous: Lock | null;
}

export interface StoredEvent {
  id: number;
  type: string;
  at: string;
  data: unknown;
}

export interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: 'ok' | 'denied' | 'failed';
  details: Record<string, unknown>;
}

export type NewAuditRecord = Omit<AuditRecord, 'id'>;

/** A chat message Deckhand posted for something (kind "deployment", key "42"), so any process can edit it. */
export interface MessageRef {
  kind: string;
  key: string;
  adapter: string;
  channel: string;
  ts: string;
  updatedAt: string;
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

/** The run of a job a token was made for: the job's id and the attempt (Job.attempts) that was running. */
export interface ApiTokenRun {
  jobId: number;
  attempt: number;
}

/** A bearer token for the REST API, scoped to one actor (e.g. one reaction run). Only its hash is stored. */
export interface ApiToken {
  hash: string;
  /** Who it acts as in the action layer, with that actor's roles (e.g. reaction:<name>); never Deckhand itself. */
  actor: string;
  /** What it may do: "deploy", "release", "message", "read". */
  scopes: string[];
  createdAt: string;
  expiresAt: string;
  /** The run it belongs to, so it dies with that run even when nobody revokes it (the process was killed); null: only the expiry limits it. */
  run: ApiTokenRun | null;
}

export type { Incident, IncidentPhase, IncidentUpdate } from './incident-types.js';

export interface Store {
  /** Creates or upgrades the schema; safe to call on every start. */
  migrate(): Promise<void>;
  /** Resolves when the store answers a trivial query (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Inserts a deployment in state `queued`. Throws E_NOT_FOUND when `rollbackOf` names no deployment. */
  createDeployment(input: NewDeployment): Promise<Deployment>;
  /**
   * Atomically: when no deployment of (app, environment) is `running`, moves the oldest `queued`
   * one (not mirrored) whose approval (if any) is granted to `running` (startedAt = now) and returns it; otherwise returns null. Two concurrent
   * callers never both get a deployment for the same target.
   */
  claimNextDeployment(app: string, environment: string, now: string): Promise<Deployment | null>;
  /**
   * Moves a queued or running deployment to a final state. Throws E_CONFLICT if already final
   * (details.deployment = its current record), E_NOT_FOUND for an unknown id.
   */
  finishDeployment(id: number, outcome: DeploymentOutcome): Promise<Deployment>;
  getDeployment(id: number): Promise<Deployment | null>;
  /**
   * Records (or updates) the deployment's twin in another system. Throws E_CONFLICT when another
   * deployment is already linked to the same (system, id).
   */
  linkExternal(id: number, external: ExternalDeployment): Promise<Deployment>;
  /** The deployment linked to (system, id), if any. */
  findByExternal(system: string, id: string): Promise<Deployment | null>;
  /**
   * Moves one mirrored deployment from queued to running (its provider reported that it started).
   * Resolves null when it is not queued any more. Deckhand's own deployments start by claimNextDeployment.
   */
  markMirrorStarted(id: number, now: string): Promise<Deployment | null>;
  /** Newest first (by id). An empty `states` list matches nothing. */
  listDeployments(query?: DeploymentQuery): Promise<Deployment[]>;

  /** Throws DeckhandError E_RELEASE_EXISTS when (app, version) exists. */
  createRelease(input: NewRelease): Promise<Release>;
  getRelease(app: string, version: string): Promise<Release | null>;
  /** Newest first; default limit 10, at most 100. */
  listReleases(app: string, limit?: number): Promise<Release[]>;

  /**
   * Takes the lock on (environment, app). If the same holder already has it, updates the reason
   * and keeps `since`. If someone else holds it: throws E_LOCK_HELD (details.lock = the held
   * lock) unless `takeover` is true, in which case it replaces it and returns it as `previous`.
   */
  acquireLock(lock: Lock, options?: { takeover?: boolean }): Promise<AcquireLockResult>;
  /** Removes the lock on exactly (environment, app) and returns it; null when there was none. */
  releaseLock(environment: string, app: string | null): Promise<Lock | null>;
  getLock(environment: string, app: string | null): Promise<Lock | null>;
  /** Every lock that applies to deploying `app` to `environment`: the environment-wide one and the app's own. */
  locksFor(environment: string, app: string): Promise<Lock[]>;
  listLocks(): Promise<Lock[]>;

  /** `data` is stored as JSON; `undefined` comes back as null. */
  appendEvent(event: { type: string; at: string; data: unknown }): Promise<StoredEvent>;
  /** Oldest first (by id, so `afterId` is a resume cursor); default limit 100, at most 1000. */
  listEvents(query?: { type?: string; afterId?: number; limit?: number }): Promise<StoredEvent[]>;

  /** Appends output lines of a deployment (already redacted). */
  appendLog(deploymentId: number, lines: readonly LogLine[]): Promise<void>;
  /** A deployment's output in order; at most `limit` lines (default 20000) from the start. */
  readLog(deploymentId: number, limit?: number): Promise<LogLine[]>;

  getApproval(id: number): Promise<Approval | null>;
  approvalForDeployment(deploymentId: number): Promise<Approval | null>;
  /**
   * Decides a pending approval; resolves null when it was no longer pending (already decided,
   * expired) — which makes a second click harmless.
   */
  decideApproval(id: number, decision: { state: Exclude<ApprovalState, 'pending'>; decidedBy: string; decidedAt: string }): Promise<Approval | null>;
  /** Pending approvals whose expiresAt is at or before `now`. */
  listExpiredApprovals(now: string): Promise<Approval[]>;

  /**
   * Stores a delivery and the job that will process it, in one transaction. A delivery id seen
   * before for the same source is not stored again: `duplicate` is true and no job is made.
   */
  acceptDelivery(delivery: NewDelivery, job: Omit<NewJob, 'payload'>): Promise<{ delivery: Delivery; duplicate: boolean }>;
  getDelivery(id: number): Promise<Delivery | null>;

  /** Creates a job; resolves null (and creates nothing) when its key already exists. */
  enqueueJob(job: NewJob): Promise<Job | null>;
  /**
   * Takes the lease of the next due job (pending with runAt <= now, or running with an expired
   * lease), atomically, and counts the attempt. Null when there is nothing to do.
   */
  claimJob(owner: string, now: string, leaseMs: number): Promise<Job | null>;
  /** Extends the lease of a running job `owner` holds; false when it no longer holds it. */
  renewJobLease(id: number, owner: string, until: string): Promise<boolean>;
  /** Marks a job done, if `owner` still holds it. */
  completeJob(id: number, owner: string, now: string): Promise<void>;
  /** Records a failure: pending again at `retryAt`, or dead when retryAt is null. */
  failJob(id: number, owner: string, error: string, now: string, retryAt: string | null): Promise<void>;
  getJob(id: number): Promise<Job | null>;
  listJobs(query?: { state?: JobState; type?: string; limit?: number }): Promise<Job[]>;

  createApiToken(token: ApiToken): Promise<void>;
  /**
   * The token with this hash, if it has not expired at `now` and, when it belongs to a run, that
   * run is still going: its job is running the same attempt under a lease that has not lapsed.
   */
  findApiToken(hash: string, now: string): Promise<ApiToken | null>;
  revokeApiToken(hash: string): Promise<void>;
  /**
   * Deletes every token findApiToken would no longer return: expired ones, and those of runs that
   * are over (finished, retried, taken over, or interrupted: the lease of a killed process lapses).
   * Resolves how many were deleted.
   */
  pruneApiTokens(now: string): Promise<number>;

  /** Remembers (or moves) the message for (kind, key, adapter). */
  rememberMessage(ref: MessageRef): Promise<void>;
  findMessage(kind: string, key: string, adapter: string): Promise<MessageRef | null>;

  /**
   * Records that `key` was seen in `scope` (e.g. a Slack event id). Resolves true the first time
   * and false for every repeat, atomically across processes: the way retries are told apart.
   */
  markSeen(scope: string, key: string, at: string): Promise<boolean>;
  /** Whether markSeen(scope, key) was called before. */
  isSeen(scope: string, key: string): Promise<boolean>;

  /**
   * Records what the on-call system said about an incident; `changed` is false for a repeat or a
   * phase that is not ahead of the known one (webhooks can come twice, or late).
   */
  recordIncident(update: IncidentUpdate): Promise<{ incident: Incident; changed: boolean }>;
  getIncident(entityId: string): Promise<Incident | null>;

  appendAudit(record: NewAuditRecord): Promise<AuditRecord>;
  /** Newest first; default limit 50, at most 500. */
  listAudit(query?: { action?: string; actor?: string; limit?: number }): Promise<AuditRecord[]>;
}
