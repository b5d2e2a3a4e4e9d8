import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Deckhand } from '../../src/app.js';
import { systemClock } from '../../src/core/clock.js';
import { apiV1Routes } from '../../src/http/api-v1.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { createOperatorToken } from '../../src/operators/operator-tokens.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { testConfig } from '../fixtures/config.js';
import { startInProcess } from '../fixtures/in-process.js';

/**
 * The OpenAPI description (src/http/openapi.ts) against the running server: every route under
 * /api/v1 is described, and real answers, good and bad, match what it says (status and body).
 */

const roles = `  ci: { members: [], may: ["read:*", "operate:*", "lock:*", "release:hello", "deploy:staging"] }
  nobody: { members: [], may: [release:api] }
`;

type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
const paths = openApiDocument.paths as unknown as Record<string, Record<string, Operation>>;

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const documentId = 'https://deckhand.invalid/api/v1/openapi.json';
ajv.addSchema({ ...openApiDocument, $id: documentId });
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

describe('the OpenAPI description of /api/v1', () => {
  let deckhand: Deckhand;
  let store: SqliteStore;
  let base: string;
  let ci: string;
  let nobody: string;
  /** Every answer seen: operation and status, and what was wrong with it. */
  const seen: Array<{ operation: string; status: number; problems: string[] }> = [];

  beforeAll(async () => {
    ({ deckhand, store, base } = await startInProcess({ config: testConfig(roles) }));
    ci = (await createOperatorToken(store, systemClock, { name: 'ci', role: 'ci' })).token;
    nobody = (await createOperatorToken(store, systemClock, { name: 'nobody', role: 'nobody' })).token;
  });
  afterAll(async () => deckhand?.close());

  /** `template` is the described path ("/deliveries/{id}"); `url` the one requested. */
  async function call(method: string, template: string, url: string, token: string | null, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${base}/api/v1${url}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const json = (await response.json()) as Record<string, unknown>;
    const operation = paths[template]?.[method.toLowerCase()];
    const problems: string[] = [];
    const described = operation?.responses[String(response.status)];
    if (!operation) problems.push(`${method} ${template} is not described`);
    else if (!described) problems.push(`status ${response.status} is not described (body ${JSON.stringify(json)})`);
    else {
      const validate = ajv.getSchema(`${documentId}#/${pointer('paths', template, method.toLowerCase(), 'responses', String(response.status), 'content', 'application/json', 'schema')}`);
      if (!validate) problems.push('no schema for this answer');
      else if (!validate(json)) problems.push(`${ajv.errorsText(validate.errors)} in ${JSON.stringify(json)}`);
    }
    seen.push({ operation: `${method} ${template}`, status: response.status, problems });
    return { status: response.status, json };
  }

  test('every route registered under /api/v1 is described, and every described one is registered', () => {
    const registered = (apiV1Routes.get(deckhand.http) ?? []).map((r) => `${r.method} ${r.path}`).sort();
    const described = Object.entries(paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(registered.length).toBeGreaterThan(10);
    expect(registered).toEqual(described);
  });

  test('real answers, good and bad, match the description', async () => {
    expect((await call('GET', '/openapi.json', '/openapi.json', null)).status).toBe(200);

    // Releases and deployments (as the operator token's actor, token:ci).
    expect((await call('POST', '/releases', '/releases', ci, { app: 'hello', version: '1.0.0' })).status).toBe(201);
    expect((await call('POST', '/releases', '/releases', ci, { app: 'hello', version: '1.0.0' })).status).toBe(409);
    expect((await call('POST', '/releases', '/releases', ci, { app: 'hello' })).status).toBe(400);
    expect((await call('POST', '/releases', '/releases', nobody, { app: 'hello', version: '1.0.1' })).status).toBe(403);
    expect((await call('POST', '/releases', '/releases', null, { app: 'hello', version: '1.0.1' })).status).toBe(401);
    expect((await call('POST', '/deployments', '/deployments', ci, { app: 'hello', ref: 'v1', environment: 'staging' })).status).toBe(202);
    expect((await call('POST', '/deployments', '/deployments', ci, { app: 'nope' })).status).toBe(404);
    await deckhand.runner.idle();
    expect((await call('GET', '/deployments', '/deployments?app=hello', ci)).status).toBe(200);
    expect((await call('GET', '/deployments', '/deployments?app=nope', ci)).status).toBe(404);
    expect((await call('GET', '/deployments', '/deployments?app=hello', nobody)).status).toBe(403);
    expect((await call('POST', '/messages', '/messages', ci, { channel: '#ops', text: 'hi' })).status).toBe(202);

    // Deliveries: one stored and processed (no reaction serves the trigger any more: kept, done).
    const now = new Date().toISOString();
    const { delivery } = await store.acceptDelivery({ source: 'trigger:gone', deliveryId: 'x-1', receivedAt: now, contentType: 'application/json', headers: {}, query: {}, body: { a: 1 } }, { type: 'delivery', runAt: now });
    await deckhand.worker.idle();
    expect((await call('GET', '/deliveries', '/deliveries', ci)).status).toBe(200);
    expect((await call('GET', '/deliveries', '/deliveries?failed=true&source=github&limit=5', ci)).status).toBe(200);
    expect((await call('GET', '/deliveries', '/deliveries?limit=none', ci)).status).toBe(400);
    expect((await call('GET', '/deliveries', '/deliveries', nobody)).status).toBe(403);
    expect((await call('GET', '/deliveries', '/deliveries', 'dho_unknown')).status).toBe(401);
    expect((await call('GET', '/deliveries/{id}', `/deliveries/${delivery.id}`, ci)).status).toBe(200);
    expect((await call('GET', '/deliveries/{id}', '/deliveries/424242', ci)).status).toBe(404);
    expect((await call('POST', '/deliveries/{id}/replay', `/deliveries/${delivery.id}/replay`, ci)).status).toBe(202);
    // A delivery whose job waits (due in an hour) is being processed: no replay yet.
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const waiting = await store.acceptDelivery({ source: 'trigger:gone', deliveryId: 'x-2', receivedAt: now, contentType: 'application/json', headers: {}, query: {}, body: {} }, { type: 'delivery', runAt: later });
    expect((await call('POST', '/deliveries/{id}/replay', `/deliveries/${waiting.delivery.id}/replay`, ci)).status).toBe(409);
    expect((await call('POST', '/deliveries/{id}/replay', '/deliveries/424242/replay', ci)).status).toBe(404);
    await deckhand.worker.idle();

    // A dead job (its type has no handler here), retried.
    await store.enqueueJob({ type: 'nothing-handles-this', payload: {}, runAt: now, maxAttempts: 1 });
    let dead = (await store.listJobs({ state: 'dead' }))[0];
    for (let i = 0; !dead && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      dead = (await store.listJobs({ state: 'dead' }))[0];
    }
    expect(dead).toBeDefined();
    expect((await call('GET', '/jobs', '/jobs?state=dead', ci)).status).toBe(200);
    expect((await call('GET', '/jobs', '/jobs?state=zombie', ci)).status).toBe(400);
    expect((await call('POST', '/jobs/{id}/retry', `/jobs/${dead!.id}/retry`, ci)).status).toBe(202);
    expect((await call('POST', '/jobs/{id}/retry', '/jobs/424242/retry', ci)).status).toBe(404);
    const done = (await store.listJobs({ state: 'done' }))[0];
    expect((await call('POST', '/jobs/{id}/retry', `/jobs/${done!.id}/retry`, ci)).status).toBe(409);

    expect((await call('GET', '/audit', '/audit?actor=token:ci&limit=3', ci)).status).toBe(200);
    expect((await call('GET', '/audit', '/audit?since=not-a-time', ci)).status).toBe(400);

    // Locks.
    expect((await call('POST', '/locks', '/locks', ci, { environment: 'staging', reason: 'freeze' })).status).toBe(201);
    expect((await call('POST', '/locks', '/locks', ci, { environment: 'staging', app: 'hello' })).status).toBe(201);
    await store.acquireLock({ environment: 'production', app: null, holder: 'alice', reason: null, since: now });
    expect((await call('POST', '/locks', '/locks', ci, { environment: 'production' })).status).toBe(409);
    expect((await call('POST', '/locks', '/locks', ci, { environment: 'nowhere' })).status).toBe(404);
    expect((await call('GET', '/locks', '/locks', ci)).status).toBe(200);
    expect((await call('DELETE', '/locks/{environment}/{app}', '/locks/staging/hello', ci)).status).toBe(200);
    expect((await call('DELETE', '/locks/{environment}/{app}', '/locks/staging/nope', ci)).status).toBe(404);
    expect((await call('DELETE', '/locks/{environment}', '/locks/staging', ci)).status).toBe(200);
    expect((await call('DELETE', '/locks/{environment}', '/locks/staging', ci)).status).toBe(409);

    expect(seen.filter((s) => s.problems.length > 0)).toEqual([]);
    // Every described operation was called at least once.
    const called = new Set(seen.map((s) => s.operation));
    const described = Object.entries(paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(described.filter((d) => !called.has(d))).toEqual([]);
  });
});
