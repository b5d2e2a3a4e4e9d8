/**
 * The store interface. Every method is asynchronous even though better-sqlite3 is synchronous,
 * so a PostgreSQL backend drops in without touching a caller. The types it stores are the domain
 * model's (src/core/model.ts): the store depends on core, never the reverse.
 */

import type { AuditQuery, DeliveryPage, DeliveryQuery, NewOperatorToken, OperatorToken } from '../core/model.js';
import type { AcquireLockResult, ApiToken, Approval, ApprovalState, AuditRecord, ChatConversation, Delivery, Deployment, DeploymentOutcome, DeploymentQuery, ExternalDeployment, Incident, IncidentUpdate, Instance, Job, JobState, Lock, LogLine, MessageRef, NewAuditRecord, NewDelivery, NewDeployment, NewInstance, NewJob, NewRelease, OrphanedDeployment, PendingConfirmation, Release, ScriptProcess, StoredEvent } from '../core/model.js';

/**
 * What retention can delete (see Store.prune): webhook deliveries, finished jobs, dedupe keys,
 * events, audit records, the output of finished deployments (the deployment rows stay), and the
 * records of messages reaction chat steps posted (what makes a re-run not post again).
 */
export const pruneKinds = ['deliveries', 'jobs', 'seen', 'events', 'audit', 'logs', 'posts'] as const;
export type PruneKind = (typeof pruneKinds)[number];

/** One item of Store.acceptDeliveries. */
export interface DeliveryToAccept {
  delivery: NewDelivery;
  job: Omit<NewJob, 'payload'> & {
    /**
     * Claimed by the insert itself (state running, attempt 1, leased to `owner` until
     * `expiresAt`), for the worker of the process that accepted it: no claim transaction, and the
     * delivery never read back. A process that dies with it loses the lease as with any claim.
     */
    lease?: JobLease;
    /** Nothing acts on this delivery: its job is stored done at intake (attempts 0), so it is listed and can be replayed, but never claimed. */
    doneAtIntake?: boolean;
  };
  /** `delivery.body` as the JSON text it was parsed from, stored as is (no second serialisation). */
  bodyText?: string;
}

/** A lease taken by the insert itself (claim at intake): the job is stored running, attempt 1, held by `owner` until `expiresAt`. */
export interface JobLease {
  owner: string;
  expiresAt: string;
}

/** A job its lease holder finished (Store.completeJobs). */
export interface FinishedJob {
  id: number;
  owner: string;
  now: string;
}

export interface AcceptedDelivery {
  /** The delivery's row id (for a duplicate: the row stored before). */
  id: number;
  duplicate: boolean;
  /** The job as stored, when it was claimed at intake (`job.lease`) and the delivery is new. */
  job?: Job;
}

/** One job type's live queue (see Store.jobStats). */
export interface JobTypeStats {
  type: string;
  /** Pending jobs, due now or later (a retry waiting for its backoff). */
  pending: number;
  running: number;
  /** run_at of the oldest pending job due at `now`; null when none is due. */
  oldestDueAt: string | null;
}

export interface Store {
  /** Creates or upgrades the schema; safe to call on every start. */
  migrate(): Promise<void>;
  /** Resolves when the store answers a trivial query (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * Inserts a deployment in state `queued`. Throws E_NOT_FOUND when `rollbackOf` names no deployment,
   * and E_CONFLICT with details.requestKey and details.deployment (the one made first) when
   * `request.key` was used before — atomically, so of two concurrent requests with one key exactly one inserts.
   */
  createDeployment(input: NewDeployment): Promise<Deployment>;
  /** The deployment made by the request with this idempotency key (NewDeployment.request), with that request's hash. */
  findDeploymentByRequest(key: string): Promise<{ deployment: Deployment; hash: string } | null>;
  /**
   * Atomically: when no deployment of (app, environment) is `running` or holding the target (see
   * takeOverDeployment), moves the oldest `queued` one (not mirrored) whose approval (if any) is
   * granted to `running` (startedAt = now) and returns it; otherwise returns null. A hold whose
   * heldUntil is at or before `now` is released first. Two concurrent callers never both get a
   * deployment for the same target.
   *
   * `run` records who runs it (`owner`: an instance id, see registerInstance) and by when it must
   * be over (`deadline`, or null). Without `run` the deployment has no owner, which recovery
   * treats like a dead owner (listOrphanedDeployments).
   */
  claimNextDeployment(app: string, environment: string, now: string, run?: { owner: string; deadline: string | null }): Promise<Deployment | null>;
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

  /**
   * Throws E_CONFLICT with details.requestKey and details.release (the one made first) when
   * `request.key` was used before, else DeckhandError E_RELEASE_EXISTS when (app, version) exists.
   */
  createRelease(input: NewRelease): Promise<Release>;
  /** The release made by the request with this idempotency key (NewRelease.request), with that request's hash. */
  findReleaseByRequest(key: string): Promise<{ release: Release; hash: string } | null>;
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
  /**
   * acceptDelivery for many deliveries in ONE transaction (group commit, see DeliveryInbox):
   * all are stored, each with its job, or — when it throws — none is. In order, so a delivery id
   * that comes twice is stored once and the second is a duplicate. Resolves, per item in order,
   * the stored row's id (the earlier row's for a duplicate) and whether it was a duplicate; reads
   * no body back. An item's `bodyText` (the body's JSON text as received) is stored as is instead
   * of serialising `body` again. `done`: jobs to mark done (completeJobs) in the same transaction —
   * one commit per turn for what the inbox stores and what the worker finished.
   */
  acceptDeliveries(items: readonly DeliveryToAccept[], done?: ReadonlyArray<FinishedJob>): Promise<AcceptedDelivery[]>;
  getDelivery(id: number): Promise<Delivery | null>;

  /**
   * Creates a job; resolves null (and creates nothing) when its key already exists. With `lease`,
   * it is created claimed by its holder (running, attempt 1): JobWorker.enqueue, for a job this
   * process runs at once; no worker is told of it.
   */
  enqueueJob(job: NewJob, lease?: JobLease): Promise<Job | null>;
  /**
   * Takes the lease of the next due job (pending with runAt <= now, or running with an expired
   * lease), atomically, and counts the attempt. Null when there is nothing to do.
   */
  claimJob(owner: string, now: string, leaseMs: number): Promise<Job | null>;
  /**
   * claimJob for up to `limit` due jobs at once, in one transaction (a worker with free slots
   * takes them in one round trip and one commit instead of one each): in (runAt, id) order, each
   * leased and its attempt counted, as claimJob does. Empty when nothing is due.
   */
  claimJobs(owner: string, now: string, leaseMs: number, limit: number): Promise<Job[]>;
  /** Extends the lease of a running job `owner` holds; false when it no longer holds it. */
  renewJobLease(id: number, owner: string, until: string): Promise<boolean>;
  /**
   * Optional: calls `listener` when jobs may have become due in any process sharing the store
   * (one was enqueued or came with a delivery, after it committed), and after a lost connection
   * comes back, so a worker looks at once instead of at its next poll. Returns a function that
   * stops the calls. A backend without cross-process notifications leaves it out; workers poll.
   */
  onJobsAvailable?(listener: () => void): () => void;
  /** Marks a job done, if `owner` still holds it. */
  completeJob(id: number, owner: string, now: string): Promise<void>;
  /** completeJob for several jobs in one transaction (the worker groups the jobs finished in one turn). */
  completeJobs(done: ReadonlyArray<FinishedJob>): Promise<void>;
  /** Records a failure: pending again at `retryAt`, or dead when retryAt is null. */
  failJob(id: number, owner: string, error: string, now: string, retryAt: string | null): Promise<void>;
  getJob(id: number): Promise<Job | null>;
  listJobs(query?: { state?: JobState; type?: string; limit?: number }): Promise<Job[]>;
  /**
   * The live queue by job type (for metrics): pending and running jobs, and the oldest pending job
   * due at `now`. Reads only pending and running jobs (the jobs_due index), never done or dead ones.
   * Types with neither pending nor running jobs are left out.
   */
  jobStats(now: string): Promise<JobTypeStats[]>;

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

  /** Remembers (or moves) where a chat conversation is answered (Teams: its serviceUrl). */
  rememberConversation(conversation: ChatConversation): Promise<void>;
  findConversation(adapter: string, conversationId: string): Promise<ChatConversation | null>;

  /**
   * Records that `key` was seen in `scope` (e.g. a Slack event id). Resolves true the first time
   * and false for every repeat, atomically across processes: the way retries are told apart.
   */
  markSeen(scope: string, key: string, at: string): Promise<boolean>;
  /** Whether markSeen(scope, key) was called before. */
  isSeen(scope: string, key: string): Promise<boolean>;

  /**
   * Reserves the next send slot of a chat channel, shared by every process on the store (Slack
   * allows about one message a second per channel, whichever replica sends it, with short bursts).
   * The generic cell rate algorithm, atomically: the channel keeps a theoretical arrival time TAT;
   * a reservation gets the slot max(now, TAT − (burst − 1) × intervalMs) and sets TAT to
   * max(TAT, now) + intervalMs. Resolves the slot; the caller sends at (not before) it. Of all
   * reservations for one channel, from any processes, concurrent or not, no window of length W
   * holds more than burst + floor(W / intervalMs) slots; burst 1 (the default) spaces every two
   * slots at least `intervalMs` apart. Rows a day past their TAT are deleted in passing. Throws a
   * RangeError unless intervalMs is a positive integer and burst an integer ≥ 1.
   */
  reserveChatSlot(adapter: string, channel: string, now: string, intervalMs: number, burst?: number): Promise<string>;

  /**
   * Stores a chat confirmation question, replacing any open one with the same key (a new question
   * supersedes the old). Also deletes every question that expired at or before `createdAt`.
   */
  putConfirmation(confirmation: PendingConfirmation): Promise<void>;
  /**
   * Removes the question with this key and resolves it when it has not expired at `now`
   * (expiresAt > now); null when there was none or it had expired (an expired one is removed too).
   * Atomic across processes: of concurrent takes of one question, exactly one resolves it.
   */
  takeConfirmation(key: string, now: string): Promise<PendingConfirmation | null>;

  /**
   * Records what the on-call system said about an incident; `changed` is false for a repeat or a
   * phase that is not ahead of the known one (webhooks can come twice, or late).
   */
  recordIncident(update: IncidentUpdate): Promise<{ incident: Incident; changed: boolean }>;
  getIncident(entityId: string): Promise<Incident | null>;

  // --- several processes on one store: instances, heartbeats, owned deployments ------------------
  // An instance is "live at t" when it is registered, not stopped, and its expiresAt > t. A running
  // deployment's owner is the instance that claimed it (claimNextDeployment's run.owner).

  /**
   * Records a process that starts, live until `instance.expiresAt`. Upserts by id: registering an
   * id again (after renewInstance said false) replaces the row and clears stoppedAt. Also deletes
   * instances that stopped more than 24 hours before `instance.startedAt` (housekeeping).
   */
  registerInstance(instance: NewInstance): Promise<void>;
  /**
   * The heartbeat: when the instance is live at `now`, sets its expiresAt to `expiresAt` and
   * resolves true. Otherwise changes nothing and resolves false — it was stopped or its expiry
   * passed, so other instances may have taken over its deployments and jobs; it should register
   * again before claiming anything.
   */
  renewInstance(id: string, now: string, expiresAt: string): Promise<boolean>;
  /**
   * Marks the instance stopped at `now` (a shutdown, or another instance found it dead) and, in the
   * same transaction, hands back every job whose lease it holds (state running, leaseOwner = id):
   * pending again with runAt = now and the lease cleared; attempts stay counted. Its running
   * deployments become orphans at once. Idempotent; an unknown id changes nothing. Resolves how
   * many jobs were handed back.
   */
  stopInstance(id: string, now: string): Promise<number>;
  /** The instances not stopped (live or with a lapsed heartbeat), oldest start first. */
  listInstances(): Promise<Instance[]>;
  /**
   * Records the process group of a running deployment's script. Only the owner can: resolves false
   * and changes nothing when the deployment is not running or `owner` is not its owner.
   */
  recordDeploymentProcess(id: number, owner: string, process: ScriptProcess): Promise<boolean>;
  /**
   * What recovery has to look at, oldest id first, at most 100: (1) running deployments (not
   * mirrored) whose owner is not live at `now` (none, an unknown or stopped instance, or an expired
   * heartbeat), and (2) finished deployments still holding their target (run.heldUntil is set,
   * whether or not it has passed). Each comes with its run (owner, deadline, process, heldUntil).
   */
  listOrphanedDeployments(now: string): Promise<OrphanedDeployment[]>;
  /**
   * Finishes a running deployment (not mirrored) whose owner is not live at `now`, in one transaction: `outcome`
   * as in finishDeployment, and when `holdUntil` is later than `now` the deployment goes on
   * holding its target until then (or until releaseHold): no deployment of that app and
   * environment can be claimed meanwhile, because its script may still be running. Resolves the
   * finished deployment, or null (changing nothing) when it is not running or its owner is live:
   * a process never finishes a live instance's deployment.
   */
  takeOverDeployment(id: number, now: string, outcome: DeploymentOutcome, holdUntil: string | null): Promise<Deployment | null>;
  /** Ends a finished deployment's hold on its target (its script is known to have ended); false when it held nothing. */
  releaseHold(id: number): Promise<boolean>;
  /**
   * Moves a running deployment (not mirrored) whose owner is not live at `now` to `owner`, which
   * must be live at `now`, in one transaction; it stays running (its outcome is still to come: an
   * Octopus task that goes on without Deckhand). The recorded script process is cleared; the
   * deadline stays. Resolves the deployment, or null (changing nothing) when it is not running,
   * its owner is live, or `owner` is not — the same refusal as takeOverDeployment's, so of several
   * processes recovering one deployment exactly one gets it.
   */
  adoptDeployment(id: number, owner: string, now: string): Promise<Deployment | null>;

  /**
   * Retention: deletes at most `limit` rows of one kind older than `before` (oldest first, through an
   * index) and resolves how many went. Idempotent and safe to run from several processes at once.
   * - deliveries: received before `before`, and only when no pending or running job reads them;
   * - jobs: done or dead, finished before `before` (pending and running jobs are never deleted);
   * - seen: markSeen keys recorded before `before`;
   * - events, audit: recorded before `before`;
   * - logs: output lines of deployments finished before `before` that hold no target (the
   *   deployment rows themselves stay);
   * - posts: the message references of reaction chat steps (kind reaction-step) recorded before
   *   `before` (a step re-run after that would post its message again).
   */
  prune(kind: PruneKind, before: string, limit: number): Promise<number>;

  appendAudit(record: NewAuditRecord): Promise<AuditRecord>;
  /** Newest first; default limit 50, at most 500. Every filter is served by an index. */
  listAudit(query?: AuditQuery): Promise<AuditRecord[]>;

  // --- operators: deliveries, dead jobs, operator tokens (src/operators/) -----------------------

  /** Deliveries without their bodies, each with the outcome of its newest job (see DeliveryPage). */
  listDeliveries(query?: DeliveryQuery): Promise<DeliveryPage>;
  /**
   * A dead job runs once more: pending at `now`, with one more attempt allowed (attempts stay
   * counted, so a run token of an earlier attempt never comes back to life). Resolves the job, or
   * null (changing nothing) when it is not dead.
   */
  retryJob(id: number, now: string): Promise<Job | null>;
  /**
   * Stores an operator token. A token of the same name that expired at or before `now` and was
   * not revoked is revoked first; a live one makes it throw E_CONFLICT.
   */
  createOperatorToken(token: NewOperatorToken, now: string): Promise<OperatorToken>;
  /** The token with this hash, if it is not revoked and has not expired at `now`. */
  findOperatorToken(hash: string, now: string): Promise<OperatorToken | null>;
  /** Tokens not revoked (expired ones too), by name. */
  listOperatorTokens(): Promise<OperatorToken[]>;
  /** Revokes the token of this name that is not revoked yet; null when there is none. */
  revokeOperatorToken(name: string, now: string): Promise<OperatorToken | null>;
}
