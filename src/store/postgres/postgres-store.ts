import pg from 'pg';
import type { AcquireLockResult, ApiToken, Approval, AuditRecord, Delivery, Deployment, DeploymentOutcome, DeploymentQuery, ExternalDeployment, Incident, IncidentUpdate, Instance, Job, Lock, LogLine, MessageRef, NewAuditRecord, NewDelivery, NewDeployment, NewInstance, NewJob, NewRelease, OrphanedDeployment, PendingConfirmation, Release, ScriptProcess, StoredEvent } from '../../core/model.js';
import type { AcceptedDelivery, DeliveryToAccept, FinishedJob, JobLease, JobTypeStats, PruneKind, Store } from '../types.js';
import type { AuditQuery, DeliveryPage, DeliveryQuery, NewOperatorToken, OperatorToken } from '../../core/model.js';
import { jobStatsByType } from './job-stats.js';
import { deleteConfirmation, upsertConfirmation } from './confirmations.js';
import { deleteApiToken, deleteDeadApiTokens, insertApiToken, liveApiToken } from './api-tokens.js';
import { approvalBy, decide, expiredApprovals } from './approvals.js';
import { postgresTarget } from './connection.js';
import { Db, openPool, untimedPool } from './db.js';
import * as deployments from './deployments.js';
import { appendEvent, listEvents } from './events.js';
import { insertAudit, insertOperatorToken, listAuditRows, listDeliveryRows, liveOperatorToken, operatorTokenRows, retryDeadJob, revokeOperatorTokenRow } from './operator-queries.js';
import { applyIncidentUpdate, incidentBy } from './incidents.js';
import { claimDueJob, claimDueJobs, deliveryBy, failedJob, finishJob, finishJobs, insertDeliveries, insertDelivery, insertJob, jobById, listJobRows, renewLease } from './jobs.js';
import * as locks from './locks.js';
import { appendLogLines, readLogLines } from './logs.js';
import { insertSeenKey, messageRef, seenKeyExists, upsertMessageRef } from './message-refs.js';
import { conversationBy, upsertConversation } from './conversations.js';
import type { ChatConversation } from '../../core/model.js';
import { reserveSlot } from './chat-pacing.js';
import { runMigrations } from './migrations.js';
import { pruneRows } from './prune.js';
import { FreshDeliveries } from '../fresh-deliveries.js';
import { JobNotifications } from './notifications.js';
import * as ownership from './ownership.js';
import * as releases from './releases.js';

/**
 * The Store on PostgreSQL (node-postgres): a pool of connections, the queries in their own
 * modules, the same behaviour as SqliteStore (the contract suite runs on both). Several Deckhand
 * processes may share one database: what SQLite serialises with its write lock is serialised here
 * by row locks and advisory locks (db.ts), and a new job wakes every process's worker (LISTEN/NOTIFY).
 */
export class PostgresStore implements Store {
  /** host:port/database, for messages (never the password). */
  readonly where: string;
  private readonly pool: pg.Pool;
  /** How to connect (connection.ts), for the migrations' own pool. */
  private readonly config: pg.PoolConfig;
  private readonly db: Db;
  private readonly notifications: JobNotifications;
  private closing: Promise<void> | null = null;

  /** Throws E_CONFIG_INVALID for a URL it cannot use; connects only when first used. */
  constructor(databaseUrl: string, options: { maxConnections?: number } = {}) {
    const target = postgresTarget(databaseUrl);
    this.where = target.where;
    this.config = target.config;
    // Its connections run under the time limits (connection.ts); a dead idle one is discarded (db.ts).
    this.pool = openPool(target, options.maxConnections ?? 10);
    this.db = new Db(this.pool);
    this.notifications = new JobNotifications({ ...target.config, fallback_application_name: 'deckhand-listen' });
  }

  async migrate(): Promise<void> {
    // A migration, and waiting for another replica's, may take longer than any statement may.
    const pool = untimedPool({ config: this.config });
    try {
      await runMigrations(pool);
    } finally {
      await pool.end();
    }
  }

  async ping(): Promise<void> {
    await this.db.run('SELECT 1');
  }

  async close(): Promise<void> {
    this.closing ??= this.notifications.close().then(() => this.pool.end());
    return this.closing;
  }

  onJobsAvailable(listener: () => void): () => void {
    return this.notifications.subscribe(listener);
  }

  // --- deployments, releases, locks: deployments.ts, releases.ts, locks.ts

  createDeployment = (input: NewDeployment): Promise<Deployment> => deployments.createDeployment(this.db, input);
  claimNextDeployment = (app: string, environment: string, now: string, run?: { owner: string; deadline: string | null }): Promise<Deployment | null> =>
    deployments.claimNextDeployment(this.db, app, environment, now, run);
  finishDeployment = (id: number, outcome: DeploymentOutcome): Promise<Deployment> => deployments.finishDeployment(this.db, id, outcome);
  getDeployment = (id: number): Promise<Deployment | null> => deployments.deploymentById(this.db, id);
  findDeploymentByRequest = (key: string): Promise<{ deployment: Deployment; hash: string } | null> => deployments.findDeploymentByRequest(this.db, key);
  linkExternal = (id: number, external: ExternalDeployment): Promise<Deployment> => deployments.linkExternal(this.db, id, external);
  findByExternal = (system: string, id: string): Promise<Deployment | null> => deployments.findByExternal(this.db, system, id);
  markMirrorStarted = (id: number, now: string): Promise<Deployment | null> => deployments.markMirrorStarted(this.db, id, now);
  listDeployments = (query?: DeploymentQuery): Promise<Deployment[]> => deployments.listDeployments(this.db, query);

  createRelease = (input: NewRelease): Promise<Release> => releases.createRelease(this.db, input);
  getRelease = (app: string, version: string): Promise<Release | null> => releases.getRelease(this.db, app, version);
  findReleaseByRequest = (key: string): Promise<{ release: Release; hash: string } | null> => releases.findReleaseByRequest(this.db, key);
  listReleases = (app: string, limit?: number): Promise<Release[]> => releases.listReleases(this.db, app, limit);

  acquireLock = (lock: Lock, options?: { takeover?: boolean }): Promise<AcquireLockResult> => locks.acquireLock(this.db, lock, options);
  releaseLock = (environment: string, app: string | null): Promise<Lock | null> => locks.releaseLock(this.db, environment, app);
  getLock = (environment: string, app: string | null): Promise<Lock | null> => locks.lockOn(this.db, environment, app);
  locksFor = (environment: string, app: string): Promise<Lock[]> => locks.locksFor(this.db, environment, app);
  listLocks = (): Promise<Lock[]> => locks.listLocks(this.db);

  // --- events, audit, logs, approvals, incidents: events.ts, logs.ts, approvals.ts, incidents.ts

  appendEvent = (event: { type: string; at: string; data: unknown }): Promise<StoredEvent> => appendEvent(this.db, event);
  listEvents = (query?: { type?: string; afterId?: number; limit?: number }): Promise<StoredEvent[]> => listEvents(this.db, query);
  appendAudit = (record: NewAuditRecord): Promise<AuditRecord> => insertAudit(this.db, record);
  listAudit = (query: AuditQuery = {}): Promise<AuditRecord[]> => listAuditRows(this.db, query);

  // --- operators: operator-queries.ts

  listDeliveries = (query: DeliveryQuery = {}): Promise<DeliveryPage> => listDeliveryRows(this.db, query);
  retryJob = (id: number, now: string): Promise<Job | null> => retryDeadJob(this.db, id, now);
  createOperatorToken = (token: NewOperatorToken, now: string): Promise<OperatorToken> => insertOperatorToken(this.db, token, now);
  findOperatorToken = (hash: string, now: string): Promise<OperatorToken | null> => liveOperatorToken(this.db, hash, now);
  listOperatorTokens = (): Promise<OperatorToken[]> => operatorTokenRows(this.db);
  revokeOperatorToken = (name: string, now: string): Promise<OperatorToken | null> => revokeOperatorTokenRow(this.db, name, now);

  appendLog = (deploymentId: number, lines: readonly LogLine[]): Promise<void> => appendLogLines(this.db, deploymentId, lines);
  readLog = (deploymentId: number, limit = 20_000): Promise<LogLine[]> => readLogLines(this.db, deploymentId, limit);

  getApproval = (id: number): Promise<Approval | null> => approvalBy(this.db, 'id', id);
  approvalForDeployment = (deploymentId: number): Promise<Approval | null> => approvalBy(this.db, 'deployment_id', deploymentId);
  decideApproval = (id: number, decision: Parameters<Store['decideApproval']>[1]): Promise<Approval | null> => decide(this.db, id, decision);
  listExpiredApprovals = (now: string): Promise<Approval[]> => expiredApprovals(this.db, now);

  recordIncident = (update: IncidentUpdate): Promise<{ incident: Incident; changed: boolean }> => applyIncidentUpdate(this.db, update);
  getIncident = (entityId: string): Promise<Incident | null> => incidentBy(this.db, entityId);

  // --- inbox and jobs: jobs.ts

  async acceptDelivery(delivery: NewDelivery, job: Omit<NewJob, 'payload'>): Promise<{ delivery: Delivery; duplicate: boolean }> {
    return this.db.tx(async (sql) => {
      const stored = await insertDelivery(sql, delivery);
      if (!stored) return { delivery: (await deliveryBy(sql, 'source_delivery', delivery.source, delivery.deliveryId)) as Delivery, duplicate: true };
      await insertJob(sql, { ...job, payload: { deliveryId: stored.id } }, delivery.receivedAt);
      return { delivery: stored, duplicate: false };
    });
  }

  acceptDeliveries = async (items: readonly DeliveryToAccept[], done: ReadonlyArray<FinishedJob> = []): Promise<AcceptedDelivery[]> => {
    if (items.length === 0 && done.length === 0) return [];
    const accepted = await this.db.tx(async (sql) => {
      if (done.length > 0) await finishJobs(sql, done);
      return insertDeliveries(sql, items);
    });
    this.fresh.keep(items, accepted);
    return accepted;
  };

  /** Deliveries just accepted, for their job's first read (parse once; see fresh-deliveries.ts). */
  private readonly fresh = new FreshDeliveries();

  getDelivery = async (id: number): Promise<Delivery | null> => this.fresh.take(id) ?? deliveryBy(this.db, 'id', id);
  enqueueJob = (job: NewJob, lease?: JobLease): Promise<Job | null> => insertJob(this.db, job, job.runAt, lease);

  async claimJob(owner: string, now: string, leaseMs: number): Promise<Job | null> {
    const leaseExpiresAt = new Date(new Date(now).getTime() + leaseMs).toISOString();
    return claimDueJob(this.db, owner, now, leaseExpiresAt);
  }

  async claimJobs(owner: string, now: string, leaseMs: number, limit: number): Promise<Job[]> {
    if (limit < 1) return [];
    const leaseExpiresAt = new Date(new Date(now).getTime() + leaseMs).toISOString();
    return claimDueJobs(this.db, owner, now, leaseExpiresAt, limit);
  }

  renewJobLease = (id: number, owner: string, until: string): Promise<boolean> => renewLease(this.db, id, owner, until);
  completeJob = (id: number, owner: string, now: string): Promise<void> => finishJob(this.db, id, owner, now);
  completeJobs = async (done: ReadonlyArray<FinishedJob>): Promise<void> => {
    const [only] = done;
    if (!only) return;
    if (done.length === 1) return finishJob(this.db, only.id, only.owner, only.now);
    await this.db.tx((sql) => finishJobs(sql, done));
  };
  failJob = (id: number, owner: string, error: string, now: string, retryAt: string | null): Promise<void> => failedJob(this.db, id, owner, error, now, retryAt);
  getJob = (id: number): Promise<Job | null> => jobById(this.db, id);
  listJobs = (query: { state?: Job['state']; type?: string; limit?: number } = {}): Promise<Job[]> => listJobRows(this.db, query);
  jobStats = (now: string): Promise<JobTypeStats[]> => jobStatsByType(this.db, now);

  // --- instances, heartbeats, owned deployments: ownership.ts

  registerInstance = (instance: NewInstance): Promise<void> => ownership.upsertInstance(this.db, instance);
  renewInstance = (id: string, now: string, expiresAt: string): Promise<boolean> => ownership.renewInstanceRow(this.db, id, now, expiresAt);
  stopInstance = (id: string, now: string): Promise<number> => ownership.stopInstanceRow(this.db, id, now);
  listInstances = (): Promise<Instance[]> => ownership.liveOrLapsedInstances(this.db);
  recordDeploymentProcess = (id: number, owner: string, process: ScriptProcess): Promise<boolean> => ownership.setDeploymentProcess(this.db, id, owner, process);
  listOrphanedDeployments = (now: string): Promise<OrphanedDeployment[]> => ownership.orphanedDeployments(this.db, now);
  takeOverDeployment = (id: number, now: string, outcome: DeploymentOutcome, holdUntil: string | null): Promise<Deployment | null> => ownership.takeOver(this.db, id, now, outcome, holdUntil);
  releaseHold = (id: number): Promise<boolean> => ownership.clearHold(this.db, id);
  adoptDeployment = (id: number, owner: string, now: string): Promise<Deployment | null> => ownership.adopt(this.db, id, owner, now);

  // --- API tokens, chat message references, seen keys: api-tokens.ts, message-refs.ts

  createApiToken = (token: ApiToken): Promise<void> => insertApiToken(this.db, token);
  findApiToken = (hash: string, now: string): Promise<ApiToken | null> => liveApiToken(this.db, hash, now);
  revokeApiToken = (hash: string): Promise<void> => deleteApiToken(this.db, hash);
  pruneApiTokens = (now: string): Promise<number> => deleteDeadApiTokens(this.db, now);
  prune = (kind: PruneKind, before: string, limit: number): Promise<number> => {
    if (kind === 'deliveries') this.fresh.clear();
    return pruneRows(this.db, kind, before, limit);
  };

  rememberMessage = (ref: MessageRef): Promise<void> => upsertMessageRef(this.db, ref);
  findMessage = (kind: string, key: string, adapter: string): Promise<MessageRef | null> => messageRef(this.db, kind, key, adapter);
  rememberConversation = (conversation: ChatConversation): Promise<void> => upsertConversation(this.db, conversation);
  findConversation = (adapter: string, conversationId: string): Promise<ChatConversation | null> => conversationBy(this.db, adapter, conversationId);
  markSeen = (scope: string, key: string, at: string): Promise<boolean> => insertSeenKey(this.db, scope, key, at);
  isSeen = (scope: string, key: string): Promise<boolean> => seenKeyExists(this.db, scope, key);
  reserveChatSlot = (adapter: string, channel: string, now: string, intervalMs: number, burst = 1): Promise<string> =>
    reserveSlot(this.db, adapter, channel, now, intervalMs, burst);

  // --- pending chat confirmations: confirmations.ts

  putConfirmation = (confirmation: PendingConfirmation): Promise<void> => this.db.tx((sql) => upsertConfirmation(sql, confirmation));
  takeConfirmation = (key: string, now: string): Promise<PendingConfirmation | null> => deleteConfirmation(this.db, key, now);
}
