import type { AcceptedDelivery, DeliveryToAccept, FinishedJob, JobLease, JobTypeStats, PruneKind, Store } from '../types.js';
import type { ApiToken, Approval, Delivery, Deployment, DeploymentOutcome, Incident, IncidentUpdate, Instance, Job, LogLine, MessageRef, NewDelivery, NewInstance, NewJob, OrphanedDeployment, PendingConfirmation, ScriptProcess } from '../../core/model.js';
import { approvalBy, decide, expiredApprovals } from './approvals.js';
import { claimDueJob, claimDueJobs, deliveryBy, failedJob, finishJob, insertDeliveries, insertDelivery, insertJob, jobById, listJobRows, renewLease } from './jobs.js';
import { applyIncidentUpdate, incidentBy } from './incidents.js';
import { appendLogLines, readLogLines } from './logs.js';
import { deleteApiToken, deleteDeadApiTokens, insertApiToken, liveApiToken } from './api-tokens.js';
import { deleteConfirmation, upsertConfirmation } from './confirmations.js';
import { insertSeenKey, messageRef, seenKeyExists, upsertMessageRef } from './message-refs.js';
import { conversationBy, upsertConversation } from './conversations.js';
import type { ChatConversation } from '../../core/model.js';
import { reserveSlot } from './chat-pacing.js';
import { adopt, clearHold, liveOrLapsedInstances, orphanedDeployments, renewInstanceRow, setDeploymentProcess, stopInstanceRow, takeOver, upsertInstance } from './ownership.js';
import { SqliteCore } from './sqlite-core.js';
import { insertOperatorToken, listDeliveryRows, liveOperatorToken, operatorTokenRows, retryDeadJob, revokeOperatorTokenRow } from './operator-queries.js';
import type { DeliveryPage, DeliveryQuery, NewOperatorToken, OperatorToken } from '../../core/model.js';
import { jobStatsByType } from './job-stats.js';
import { markSqliteErrors } from './unavailable.js';
import { pruneRows } from './prune.js';
import { FreshDeliveries } from '../fresh-deliveries.js';

/**
 * The Store on SQLite (better-sqlite3): the core tables from SqliteCore, plus logs, approvals,
 * chat message references, the webhook inbox and the job queue. The queries live in their own
 * modules; these methods are the Store interface over them.
 */
export class SqliteStore extends SqliteCore implements Store {
  /** Deliveries just accepted, for their job's first read (parse once; see fresh-deliveries.ts). */
  private readonly fresh = new FreshDeliveries();

  /** `path` is a file path (its directory is created when missing) or ':memory:'. */
  constructor(path: string) {
    super(path);
    // A locked or failing database is reported as E_STORE_UNAVAILABLE (HTTP 503), not a bare SqliteError.
    markSqliteErrors(this);
  }

  // --- logs, approvals, chat references: their queries live in logs.ts, approvals.ts, message-refs.ts

  async appendLog(deploymentId: number, lines: readonly LogLine[]): Promise<void> {
    this.immediate(() => appendLogLines(this.prepare, deploymentId, lines));
  }

  async readLog(deploymentId: number, limit = 20_000): Promise<LogLine[]> {
    return readLogLines(this.prepare, deploymentId, limit);
  }

  async getApproval(id: number): Promise<Approval | null> {
    return approvalBy(this.prepare, 'id', id);
  }

  async approvalForDeployment(deploymentId: number): Promise<Approval | null> {
    return approvalBy(this.prepare, 'deployment_id', deploymentId);
  }

  async decideApproval(id: number, decision: Parameters<Store['decideApproval']>[1]): Promise<Approval | null> {
    return decide(this.prepare, id, decision);
  }

  async listExpiredApprovals(now: string): Promise<Approval[]> {
    return expiredApprovals(this.prepare, now);
  }

  // --- on-call incidents: queries in incidents.ts

  async recordIncident(update: IncidentUpdate): Promise<{ incident: Incident; changed: boolean }> {
    return this.immediate(() => applyIncidentUpdate(this.prepare, update));
  }

  async getIncident(entityId: string): Promise<Incident | null> {
    return incidentBy(this.prepare, entityId);
  }

  // --- inbox and jobs: queries in jobs.ts

  async acceptDelivery(delivery: NewDelivery, job: Omit<NewJob, 'payload'>): Promise<{ delivery: Delivery; duplicate: boolean }> {
    return this.immediate(() => {
      const stored = insertDelivery(this.prepare, delivery);
      if (!stored) return { delivery: deliveryBy(this.prepare, 'source_delivery', delivery.source, delivery.deliveryId) as Delivery, duplicate: true };
      insertJob(this.prepare, { ...job, payload: { deliveryId: stored.id } }, delivery.receivedAt);
      return { delivery: stored, duplicate: false };
    });
  }

  async acceptDeliveries(items: readonly DeliveryToAccept[], done: ReadonlyArray<FinishedJob> = []): Promise<AcceptedDelivery[]> {
    if (items.length === 0 && done.length === 0) return [];
    this.checkpointElsewhere();
    const accepted = this.immediate(() => {
      done.forEach((d) => finishJob(this.prepare, d.id, d.owner, d.now));
      return insertDeliveries(this.prepare, items);
    });
    this.fresh.keep(items, accepted);
    return accepted;
  }

  async getDelivery(id: number): Promise<Delivery | null> {
    return this.fresh.take(id) ?? deliveryBy(this.prepare, 'id', id);
  }

  async enqueueJob(job: NewJob, lease?: JobLease): Promise<Job | null> {
    return insertJob(this.prepare, job, job.runAt, lease);
  }

  async claimJob(owner: string, now: string, leaseMs: number): Promise<Job | null> {
    const leaseExpiresAt = new Date(new Date(now).getTime() + leaseMs).toISOString();
    return this.immediate(() => claimDueJob(this.prepare, owner, now, leaseExpiresAt));
  }

  async claimJobs(owner: string, now: string, leaseMs: number, limit: number): Promise<Job[]> {
    if (limit < 1) return [];
    const leaseExpiresAt = new Date(new Date(now).getTime() + leaseMs).toISOString();
    return this.immediate(() => claimDueJobs(this.prepare, owner, now, leaseExpiresAt, limit));
  }

  async renewJobLease(id: number, owner: string, until: string): Promise<boolean> {
    return renewLease(this.prepare, id, owner, until);
  }

  async completeJob(id: number, owner: string, now: string): Promise<void> {
    finishJob(this.prepare, id, owner, now);
  }

  async completeJobs(done: ReadonlyArray<FinishedJob>): Promise<void> {
    if (done.length > 0) this.immediate(() => done.forEach((d) => finishJob(this.prepare, d.id, d.owner, d.now)));
  }

  async failJob(id: number, owner: string, error: string, now: string, retryAt: string | null): Promise<void> {
    failedJob(this.prepare, id, owner, error, now, retryAt);
  }

  async getJob(id: number): Promise<Job | null> {
    return jobById(this.prepare, id);
  }

  async listJobs(query: { state?: Job['state']; type?: string; limit?: number } = {}): Promise<Job[]> {
    return listJobRows(this.prepare, query);
  }

  async jobStats(now: string): Promise<JobTypeStats[]> {
    return jobStatsByType(this.prepare, now);
  }

  // --- REST API tokens: queries in api-tokens.ts

  async createApiToken(token: ApiToken): Promise<void> {
    insertApiToken(this.prepare, token);
  }

  async findApiToken(hash: string, now: string): Promise<ApiToken | null> {
    return liveApiToken(this.prepare, hash, now);
  }

  async revokeApiToken(hash: string): Promise<void> {
    deleteApiToken(this.prepare, hash);
  }

  async pruneApiTokens(now: string): Promise<number> {
    return deleteDeadApiTokens(this.prepare, now);
  }

  // --- operators: queries in operator-queries.ts

  async listDeliveries(query: DeliveryQuery = {}): Promise<DeliveryPage> {
    return listDeliveryRows(this.prepare, query);
  }

  async retryJob(id: number, now: string): Promise<Job | null> {
    return retryDeadJob(this.prepare, id, now);
  }

  async createOperatorToken(token: NewOperatorToken, now: string): Promise<OperatorToken> {
    return this.immediate(() => insertOperatorToken(this.prepare, token, now));
  }

  async findOperatorToken(hash: string, now: string): Promise<OperatorToken | null> {
    return liveOperatorToken(this.prepare, hash, now);
  }

  async listOperatorTokens(): Promise<OperatorToken[]> {
    return operatorTokenRows(this.prepare);
  }

  async revokeOperatorToken(name: string, now: string): Promise<OperatorToken | null> {
    return revokeOperatorTokenRow(this.prepare, name, now);
  }

  async prune(kind: PruneKind, before: string, limit: number): Promise<number> {
    if (kind === 'deliveries') this.fresh.clear();
    return pruneRows(this.prepare, kind, before, limit);
  }

  // --- instances, heartbeats, owned deployments: queries in ownership.ts

  async registerInstance(instance: NewInstance): Promise<void> {
    this.immediate(() => upsertInstance(this.prepare, instance));
  }

  async renewInstance(id: string, now: string, expiresAt: string): Promise<boolean> {
    return renewInstanceRow(this.prepare, id, now, expiresAt);
  }

  async stopInstance(id: string, now: string): Promise<number> {
    return this.immediate(() => stopInstanceRow(this.prepare, id, now));
  }

  async listInstances(): Promise<Instance[]> {
    return liveOrLapsedInstances(this.prepare);
  }

  async recordDeploymentProcess(id: number, owner: string, process: ScriptProcess): Promise<boolean> {
    return setDeploymentProcess(this.prepare, id, owner, process);
  }

  async listOrphanedDeployments(now: string): Promise<OrphanedDeployment[]> {
    return orphanedDeployments(this.prepare, now);
  }

  async takeOverDeployment(id: number, now: string, outcome: DeploymentOutcome, holdUntil: string | null): Promise<Deployment | null> {
    return this.immediate(() => takeOver(this.prepare, id, now, outcome, holdUntil));
  }

  async releaseHold(id: number): Promise<boolean> {
    return clearHold(this.prepare, id);
  }

  async adoptDeployment(id: number, owner: string, now: string): Promise<Deployment | null> {
    return this.immediate(() => adopt(this.prepare, id, owner, now));
  }

  async rememberMessage(ref: MessageRef): Promise<void> {
    upsertMessageRef(this.prepare, ref);
  }

  async findMessage(kind: string, key: string, adapter: string): Promise<MessageRef | null> {
    return messageRef(this.prepare, kind, key, adapter);
  }

  async rememberConversation(conversation: ChatConversation): Promise<void> {
    upsertConversation(this.prepare, conversation);
  }

  async findConversation(adapter: string, conversationId: string): Promise<ChatConversation | null> {
    return conversationBy(this.prepare, adapter, conversationId);
  }

  async markSeen(scope: string, key: string, at: string): Promise<boolean> {
    return insertSeenKey(this.prepare, scope, key, at);
  }

  async isSeen(scope: string, key: string): Promise<boolean> {
    return seenKeyExists(this.prepare, scope, key);
  }

  async reserveChatSlot(adapter: string, channel: string, now: string, intervalMs: number, burst = 1): Promise<string> {
    return this.immediate(() => reserveSlot(this.prepare, adapter, channel, now, intervalMs, burst));
  }

  // --- pending chat confirmations: queries in confirmations.ts

  async putConfirmation(confirmation: PendingConfirmation): Promise<void> {
    this.immediate(() => upsertConfirmation(this.prepare, confirmation));
  }

  async takeConfirmation(key: string, now: string): Promise<PendingConfirmation | null> {
    return deleteConfirmation(this.prepare, key, now);
  }
}
