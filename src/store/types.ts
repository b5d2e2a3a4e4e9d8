/**
 * The store interface. Every method is asynchronous even though better-sqlite3 is synchronous,
 * so a PostgreSQL backend drops in without touching a caller. The types it stores are the domain
 * model's (src/core/model.ts): the store depends on core, never the reverse.
 */

import type { AcquireLockResult, ApiToken, Approval, ApprovalState, AuditRecord, Delivery, Deployment, DeploymentOutcome, DeploymentQuery, ExternalDeployment, Incident, IncidentUpdate, Job, JobState, Lock, LogLine, MessageRef, NewAuditRecord, NewDelivery, NewDeployment, NewJob, NewRelease, Release, StoredEvent } from '../core/model.js';

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
