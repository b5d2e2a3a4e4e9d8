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

export type { Incident, IncidentPhase, IncidentUpdate } from './incident.js';
export type { Delivery, DeliveryOutcome, DeliveryPage, DeliveryQuery, DeliverySummary, Job, JobState, NewDelivery, NewJob } from './inbox.js';
export { deliveryOutcomes, outcomeOfJob } from './inbox.js';
export type { DeploymentRun, Instance, NewInstance, OrphanedDeployment, ScriptProcess } from './instances.js';
