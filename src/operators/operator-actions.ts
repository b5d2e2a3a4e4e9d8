import { redactStrings } from '../cli/trigger.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { AuditQuery, AuditRecord, Delivery, DeliveryPage, DeliveryQuery, DeliverySummary, Job, JobState } from '../core/model.js';
import type { Actor } from '../core/permissions.js';
import { createRedactor, REDACTED } from '../providers/script/redact.js';
import type { Store } from '../store/types.js';
import { operatorPermissions, requirePermission } from './operator-permissions.js';

/**
 * What an operator does about deliveries, jobs and the audit log, whoever asks: the REST API
 * (an operator token), the console (a signed-in person). Each checks a permission
 * (operator-permissions.ts) and each change is audited. The CLI works on the store directly, as
 * the person who holds the database, so it calls these with a system actor.
 */
export interface OperatorContext {
  config: DeckhandConfig;
  store: Store;
  clock: Clock;
  /** Values to mask in stored payloads: the config's and every reaction's ${secret.X} values. */
  secrets: () => readonly string[];
  /** Tells this process's worker that a job is due (other processes poll, or hear it on PostgreSQL). */
  wake?: () => void;
}

/** A delivery as an operator sees it: everything stored, secrets masked, with its outcome. */
export interface DeliveryDetail extends Omit<Delivery, 'body'> {
  body: unknown;
  summary: DeliverySummary;
}

/** Keys whose values are masked wherever they appear in a stored payload, whatever the value. */
const secretKeys = /(secret|password|passwd|token|api[-_]?key|authorization|signature|private[-_]?key)/i;

/** Secret values (config, reactions) masked in every string, and every value under a secret-looking key. */
export function maskPayload<T>(value: T, secrets: readonly string[]): T {
  return maskKeys(redactStrings(value, createRedactor(secrets)));
}

function maskKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => maskKeys(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, secretKeys.test(k) && v !== null && typeof v !== 'object' ? REDACTED : maskKeys(v)])) as T;
  }
  return value;
}

export async function listDeliveries(ctx: OperatorContext, actor: Actor, query: DeliveryQuery): Promise<DeliveryPage> {
  requirePermission(ctx.config, actor, operatorPermissions.readDeliveries);
  const page = await ctx.store.listDeliveries(query);
  return { ...page, deliveries: page.deliveries.map((d) => (d.job?.lastError ? { ...d, job: { ...d.job, lastError: maskPayload(d.job.lastError, ctx.secrets()) } } : d)) };
}

export async function showDelivery(ctx: OperatorContext, actor: Actor, id: number): Promise<DeliveryDetail> {
  requirePermission(ctx.config, actor, operatorPermissions.readDeliveries);
  const [delivery, page] = await Promise.all([ctx.store.getDelivery(id), ctx.store.listDeliveries({ id })]);
  const summary = page.deliveries[0];
  if (!delivery || !summary) throw new DeckhandError(ErrorCode.NotFound, `No delivery #${id} (retention may have deleted it).`, { id });
  const secrets = ctx.secrets();
  return { ...delivery, headers: maskPayload(delivery.headers, secrets), query: maskPayload(delivery.query, secrets), body: maskPayload(delivery.body, secrets), summary: maskPayload(summary, secrets) };
}

/**
 * Processes a stored delivery again, as a new job of the same type as its newest one (the stored
 * body, not a new request). Side effects keep their idempotency keys: a replay does not create a
 * second GitHub deployment for the same delivery. Reactions run again (the engine keys a replay's
 * runs by its job). Refused (409) while a job of the delivery is still pending or running.
 */
export async function replayDelivery(ctx: OperatorContext, actor: Actor, id: number): Promise<{ delivery: DeliverySummary; job: Job }> {
  const target = `delivery #${id}`;
  await guarded(ctx, actor, operatorPermissions.replayDelivery, 'delivery.replay', target);
  const summary = (await ctx.store.listDeliveries({ id })).deliveries[0];
  if (!summary) throw new DeckhandError(ErrorCode.NotFound, `No delivery #${id} (retention may have deleted it).`, { id });
  if (!summary.job) throw new DeckhandError(ErrorCode.Conflict, `Delivery #${id} has no job left to tell how to process it (retention deleted it).`, { id });
  if (summary.outcome === 'pending' || summary.outcome === 'running') {
    throw new DeckhandError(ErrorCode.Conflict, `Delivery #${id} is being processed (job #${summary.job.id} is ${summary.outcome}): wait for it to finish.`, { id, job: summary.job.id });
  }
  const now = ctx.clock.now().toISOString();
  const job = await ctx.store.enqueueJob({ type: summary.job.type, payload: { deliveryId: id, replay: true }, runAt: now });
  if (!job) throw new DeckhandError(ErrorCode.Conflict, `Delivery #${id} could not be queued again.`, { id });
  await ctx.store.appendAudit({ at: now, actor: actor.id, action: 'delivery.replay', target, outcome: 'ok', details: { source: summary.source, deliveryId: summary.deliveryId, previousJob: summary.job.id, job: job.id }, app: null, environment: null });
  ctx.wake?.();
  const delivery = (await ctx.store.listDeliveries({ id })).deliveries[0] ?? summary;
  return { delivery, job };
}

export async function listJobs(ctx: OperatorContext, actor: Actor, query: { state?: JobState; type?: string; limit?: number }): Promise<Job[]> {
  requirePermission(ctx.config, actor, operatorPermissions.readJobs);
  const secrets = ctx.secrets();
  return (await ctx.store.listJobs(query)).map((job) => maskPayload(job, secrets));
}

/** A dead job runs once more (one more attempt), now. 404 for an unknown job, 409 for one that is not dead. */
export async function retryJob(ctx: OperatorContext, actor: Actor, id: number): Promise<Job> {
  const target = `job #${id}`;
  await guarded(ctx, actor, operatorPermissions.retryJob, 'job.retry', target);
  const now = ctx.clock.now().toISOString();
  const retried = await ctx.store.retryJob(id, now);
  if (!retried) {
    const job = await ctx.store.getJob(id);
    if (!job) throw new DeckhandError(ErrorCode.NotFound, `No job #${id}.`, { id });
    throw new DeckhandError(ErrorCode.Conflict, `Job #${id} is ${job.state}, not dead: only a dead job can be retried.`, { id, state: job.state });
  }
  await ctx.store.appendAudit({ at: now, actor: actor.id, action: 'job.retry', target, outcome: 'ok', details: { type: retried.type, attempts: retried.attempts, lastError: maskPayload(retried.lastError, ctx.secrets()) }, app: null, environment: null });
  ctx.wake?.();
  return maskPayload(retried, ctx.secrets());
}

export async function listAudit(ctx: OperatorContext, actor: Actor, query: AuditQuery): Promise<AuditRecord[]> {
  requirePermission(ctx.config, actor, operatorPermissions.readAudit);
  return ctx.store.listAudit(query);
}

/** requirePermission, auditing a refusal first (as the action layer's authorize does). */
async function guarded(ctx: OperatorContext, actor: Actor, permission: Parameters<typeof requirePermission>[2], action: string, target: string): Promise<void> {
  try {
    requirePermission(ctx.config, actor, permission);
  } catch (err) {
    const needed = `${permission.verb}:${permission.scope}`;
    await ctx.store.appendAudit({ at: ctx.clock.now().toISOString(), actor: actor.id, action, target, outcome: 'denied', details: { needed }, app: null, environment: null });
    throw err;
  }
}
