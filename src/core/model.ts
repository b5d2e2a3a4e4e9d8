/**
 * Deckhand's domain model: deployments, approvals, releases, locks, events, audit records,
 * deliveries, jobs and tokens, as every layer sees them. The store persists these; nothing here
 * depends on a backend. Timestamps are ISO-8601 strings (UTC).
 */

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
  /** Octopus: the server task that runs it, so another Deckhand can follow it again after a take-over. */
  taskId?: string;
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
  /** The idempotency key of the request that made it (see RequestKey); a second deployment with the same key is refused. */
  request?: RequestKey | null;
}

/**
 * An idempotency key (a reaction step's run id, an API caller's Idempotency-Key) recorded with the
 * deployment or release it made (migration 13), and a hash of what was asked: a repeat with the
 * same key finds the first result instead of making a second; a different request with it is refused.
 */
export interface RequestKey {
  key: string;
  hash: string;
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
  /** As NewDeployment.request. */
  request?: RequestKey | null;
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
  /**
   * The app and environment the record is about, for searching (schema version 15). When the
   * writer leaves them out the store derives them from action and target (src/core/audit-scope.ts).
   */
  app?: string | null;
  environment?: string | null;
}

export type NewAuditRecord = Omit<AuditRecord, 'id'>;

/** What listAudit filters on; every filter is optional and they combine with AND. */
export interface AuditQuery {
  action?: string;
  actor?: string;
  app?: string;
  environment?: string;
  /** Records at or after this instant. */
  since?: string;
  /** Records before this instant. */
  until?: string;
  /** Records with an id below this one (the next page of a newest-first list). */
  beforeId?: number;
  limit?: number;
}

/**
 * A long-lived bearer token for operators and CI (`deckhand token create`): it acts as
 * `token:<name>` with exactly the permissions of one configured role. Only its hash is stored.
 */
export interface OperatorToken {
  id: number;
  /** Unique among tokens not revoked. */
  name: string;
  hash: string;
  /** The name of a role in the config. */
  role: string;
  createdBy: string;
  createdAt: string;
  /** null: it does not expire. */
  expiresAt: string | null;
  revokedAt: string | null;
}

export type NewOperatorToken = Omit<OperatorToken, 'id' | 'revokedAt'>;

/** What became of a delivery: the state of the newest job that processes it (a replay makes a new one). */
export type DeliveryOutcome = 'pending' | 'running' | 'done' | 'dead' | 'unknown';

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

/** A chat message Deckhand posted for something (kind "deployment", key "42"), so any process can edit it. */
export interface MessageRef {
  kind: string;
  key: string;
  adapter: string;
  channel: string;
  ts: string;
  updatedAt: string;
}

/**
 * Where a chat conversation is answered, for adapters whose address is not the conversation id
 * alone (Teams: the Bot Connector serviceUrl that a verified token named). Stored so that any
 * process, and one started later, can post into the conversation.
 */
export interface ChatConversation {
  adapter: string;
  conversationId: string;
  serviceUrl: string;
  tenantId: string | null;
  updatedAt: string;
}

/**
 * A question the bot asked in chat ("reply yes to go ahead"), waiting for its answer in the store,
 * so the answer counts whichever process it reaches. It keeps what the user said, not parsed
 * arguments: a "yes" routes and validates the same text again (see src/router/dispatch.ts).
 */
export interface PendingConfirmation {
  /** Who was asked where (the dispatcher's adapter+user+room key); one open question per key. */
  key: string;
  /** The id of the command that asked. */
  command: string;
  /** The command as the user wrote it (without the bot's name or prefix). */
  text: string;
  createdAt: string;
  /** The answer counts before this instant, not at or after it. */
  expiresAt: string;
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

/**
 * A running Deckhand process, as the other processes on the same store see it. It counts as alive
 * while its heartbeat keeps `expiresAt` in the future and it has not stopped.
 */
export interface Instance {
  /** Unique per process start: <host>:<pid>:<random>. */
  id: string;
  /** The machine's name, for people reading logs. */
  host: string;
  /**
   * Equal for two processes exactly when they see the same process ids (Linux: the same boot and
   * pid namespace), so one may check or stop the other's processes; null when unknown (not Linux).
   */
  pidScope: string | null;
  pid: number;
  startedAt: string;
  /** Alive until then, unless its heartbeat moves it on. */
  expiresAt: string;
  /** When it stopped (a shutdown) or was found dead by another instance; null while it runs. */
  stoppedAt: string | null;
}

export type NewInstance = Omit<Instance, 'stoppedAt'>;

/** The process group a deployment's script runs in, so a recovery in the same pid scope can check and stop it. */
export interface ScriptProcess {
  /** The machine's name, for people. */
  host: string;
  /** As Instance.pidScope; a process in another scope (or null) cannot check this group. */
  pidScope: string | null;
  pgid: number;
  /** The group leader's start (Linux: its start time in clock ticks since boot), so a reused pid is not mistaken for it; null when unknown. */
  leaderStart: string | null;
}

/** Who runs (or ran) a deployment and what is known of its script: what a recovery needs. */
export interface DeploymentRun {
  /** The instance that claimed it; null when claimed without one (an older Deckhand, or a test). */
  owner: string | null;
  /** When it must be over at the latest (claim time + the provider's timeout + the kill grace); null when unknown. */
  deadline: string | null;
  /** The script's process group, once the provider started one. */
  process: ScriptProcess | null;
  /** Set while a finished deployment still holds its target, because its script may still be running. */
  heldUntil: string | null;
}

/** A deployment recovery has to look at (Store.listOrphanedDeployments), with its run. */
export interface OrphanedDeployment {
  deployment: Deployment;
  run: DeploymentRun;
}

export type { Incident, IncidentPhase, IncidentUpdate } from './incident.js';
