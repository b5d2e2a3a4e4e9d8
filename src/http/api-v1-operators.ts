import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deliveryOutcomes } from '../core/model.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Actor } from '../core/permissions.js';
import { listAudit, listDeliveries, listJobs, replayDelivery, retryJob, showDelivery, type OperatorContext } from '../operators/operator-actions.js';
import type { ApiOptions } from './api-v1.js';

/**
 * The operator's side of /api/v1 (an operator token, `deckhand token create`): deliveries and
 * their replay, jobs and their retry, the audit log, locks. Each route checks the token's role
 * (src/operators/operator-permissions.ts; locks through the action layer) and answers 403 naming
 * the permission and the roles that have it. Documented in src/http/openapi.ts.
 */

/** A row id: digits only (no 1e3, no -1, no 0x10), at most 15 of them. */
const id = z.string().regex(/^[1-9]\d{0,14}$/, 'a positive whole number').transform(Number);
const limit = z.string().regex(/^\d{1,3}$/, 'a whole number from 1 to 500').transform(Number).pipe(z.number().int().min(1).max(500));
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());
const name = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, ".", "_" or "-"').max(100);
const flag = z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1' || v === '');

const idParams = z.object({ id }).strict();
const deliveriesQuery = z
  .object({
    source: z.string().min(1).max(200).optional(),
    outcome: z.enum(deliveryOutcomes).optional(),
    failed: flag.optional(),
    since: instant.optional(),
    limit: limit.optional(),
    cursor: id.optional(),
  })
  .strict();
const jobsQuery = z
  .object({
    state: z.enum(['pending', 'running', 'done', 'dead']).optional(),
    type: z.string().min(1).max(100).optional(),
    limit: limit.optional(),
  })
  .strict();
const auditQuery = z
  .object({
    actor: z.string().min(1).max(200).optional(),
    action: z.string().min(1).max(100).optional(),
    app: name.optional(),
    environment: name.optional(),
    since: instant.optional(),
    until: instant.optional(),
    limit: limit.optional(),
    before: id.optional(),
  })
  .strict();
const lockBody = z.object({ environment: name, app: name.optional(), reason: z.string().max(500).optional(), takeover: z.boolean().optional() }).strict();
const unlockParams = z.object({ environment: name, app: name.optional() }).strict();

function input<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new DeckhandError(ErrorCode.Usage, result.error.issues.map((i) => `${where}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`).join('; '));
  return result.data;
}

/** The operator behind the request; a run token (a reaction script's) is refused here. */
function operator(request: FastifyRequest): Actor {
  if (request.operator) return request.operator.actor;
  throw new DeckhandError(ErrorCode.Forbidden, 'this endpoint needs an operator token (deckhand token create --name <name> --role <role>); the token of a reaction run may not use it', { needed: 'operator token' });
}

export function registerOperatorRoutes(api: FastifyInstance, options: ApiOptions): void {
  const ctx: OperatorContext = { config: options.config, store: options.store, clock: options.clock, secrets: options.secrets ?? (() => options.config.secrets), wake: options.wake };

  api.get('/deliveries', async (request) => {
    const actor = operator(request);
    const q = input(deliveriesQuery, request.query, 'query');
    if (q.failed && q.outcome && q.outcome !== 'dead') throw new DeckhandError(ErrorCode.Usage, 'query: failed=true means outcome=dead; give one of them');
    const outcome = q.failed ? 'dead' : q.outcome;
    return listDeliveries(ctx, actor, { source: q.source, outcome, since: q.since, limit: q.limit, cursor: q.cursor });
  });

  api.get('/deliveries/:id', async (request) => showDelivery(ctx, operator(request), input(idParams, request.params, 'path').id));

  api.post('/deliveries/:id/replay', async (request, reply) => {
    const actor = operator(request);
    const result = await replayDelivery(ctx, actor, input(idParams, request.params, 'path').id);
    return reply.code(202).send(result);
  });

  api.get('/jobs', async (request) => {
    const actor = operator(request);
    return { jobs: await listJobs(ctx, actor, input(jobsQuery, request.query, 'query')) };
  });

  api.post('/jobs/:id/retry', async (request, reply) => {
    const actor = operator(request);
    const job = await retryJob(ctx, actor, input(idParams, request.params, 'path').id);
    return reply.code(202).send({ job });
  });

  api.get('/audit', async (request) => {
    const actor = operator(request);
    const q = input(auditQuery, request.query, 'query');
    const limit = q.limit ?? 50;
    const records = await listAudit(ctx, actor, { actor: q.actor, action: q.action, app: q.app, environment: q.environment, since: q.since, until: q.until, beforeId: q.before, limit });
    return { records, next: records.length === limit ? (records.at(-1)?.id ?? null) : null };
  });

  // Locks go through the action layer, as chat's "lock" does: lock:<environment>, audited, announced.
  api.get('/locks', async (request) => {
    operator(request);
    return { locks: await options.actions.listLocks() };
  });

  api.post('/locks', async (request, reply) => {
    const actor = operator(request);
    const body = input(lockBody, request.body, 'body');
    const result = await options.actions.lock(actor, { environment: body.environment, app: body.app, reason: body.reason, takeover: body.takeover ?? false });
    return reply.code(201).send(result);
  });

  const unlock = async (request: FastifyRequest) => {
    const actor = operator(request);
    const params = input(unlockParams, request.params, 'path');
    return { lock: await options.actions.unlock(actor, params) };
  };
  api.delete('/locks/:environment', unlock);
  api.delete('/locks/:environment/:app', unlock);
}
