import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Deckhand } from '../../src/app.js';
import { systemClock } from '../../src/core/clock.js';
import type { Job } from '../../src/core/model.js';
import { mintApiToken } from '../../src/http/api-tokens.js';
import { createOperatorToken, revokeOperatorToken } from '../../src/operators/operator-tokens.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ChatPort } from '../../src/chat/chat-port.js';
import { DeckhandError, ErrorCode } from '../../src/core/errors.js';
import { testConfig } from '../fixtures/config.js';
import { startInProcess, until } from '../fixtures/in-process.js';

const feedKey = 'feed-key-0123456789abcdef';

/** Operator roles besides testConfig's people: tokens act with exactly one of them. */
const roles = `  readers: { members: [], may: ["read:*"] }
  ops: { members: [], may: ["read:*", "operate:*", "lock:*", "deploy:staging"] }
  releasers: { members: [], may: [release:hello] }
`;

describe('the operator side of /api/v1: operator tokens, deliveries, jobs, audit, locks', () => {
  let deckhand: Deckhand;
  let store: SqliteStore;
  let base: string;
  let chat: Array<{ channel: string; text: string }>;
  let recording: ChatPort;
  let reader: string;
  let ops: string;
  let releaser: string;

  beforeAll(async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-operators-'));
    mkdirSync(path.join(root, 'reactions'));
    // A webhook whose reaction tells the chat (which can be made to refuse it, as Slack can).
    writeFileSync(path.join(root, 'reactions', 'feed.yaml'), 'on: { webhook: feed, auth: { api_key: "${secret.FEED_KEY}" } }\ndo:\n  - chat: { channel: "#ops", text: "got {{ payload.n }}" }\n');
    const loaded = loadReactions(path.join(root, 'reactions'), { FEED_KEY: feedKey }).reactions;
    const running = await startInProcess({ config: testConfig(roles), reactions: loaded, reactionsBaseDir: root });
    ({ deckhand, store, base, chat } = running);
    recording = { post: async (channel, text) => void chat.push({ channel, text }), react: async () => undefined };
    reader = (await createOperatorToken(store, systemClock, { name: 'reader', role: 'readers' })).token;
    ops = (await createOperatorToken(store, systemClock, { name: 'ops', role: 'ops', expiresIn: '1d' })).token;
    releaser = (await createOperatorToken(store, systemClock, { name: 'rel', role: 'releasers' })).token;
  });
  afterAll(async () => deckhand?.close());

  const api = async (method: string, url: string, token?: string, body?: unknown) => {
    const response = await fetch(`${base}/api/v1${url}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { error?: string } };
  };

  const trigger = async (payload: unknown) => {
    const response = await fetch(`${base}/triggers/feed`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': feedKey, 'x-delivery-id': `d-${Math.random()}` }, body: JSON.stringify(payload) });
    expect(response.status).toBe(202);
  };

  const deadReactionJob = async (): Promise<Job> => {
    let dead: Job | undefined;
    await until(async () => (dead = (await store.listJobs({ state: 'dead', type: 'reaction' }))[0]) !== undefined, 'a dead reaction job');
    return dead!;
  };

  test('tokens: none, unknown, revoked, or a run token on an operator route are refused; the description needs none', async () => {
    expect((await api('GET', '/deliveries')).status).toBe(401);
    expect((await api('GET', '/deliveries', 'dho_not-a-real-token')).status).toBe(401);
    expect((await api('GET', '/deliveries', 'Basic abc')).status).toBe(401);
    const temp = await createOperatorToken(store, systemClock, { name: 'temp', role: 'readers' });
    expect((await api('GET', '/deliveries', temp.token)).status).toBe(200);
    await revokeOperatorToken(store, systemClock, 'temp');
    const revoked = await api('GET', '/deliveries', temp.token);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error).toContain('revoked');

    const run = await mintApiToken(store, systemClock, { actor: 'reaction:feed', scopes: ['read'], ttlMs: 60_000 });
    const refused = await api('GET', '/deliveries', run.token);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'E_FORBIDDEN', error: expect.stringContaining('needs an operator token') });
    await run.revoke();

    const description = await fetch(`${base}/api/v1/openapi.json`);
    expect(description.status).toBe(200);
    expect(((await description.json()) as { openapi: string }).openapi).toBe('3.1.0');
  });

  test("a token acts as token:<name> with exactly its role's permissions; a refusal names the permission and the roles that have it", async () => {
    const noRead = await api('GET', '/audit', releaser);
    expect(noRead.status).toBe(403);
    expect(noRead.body).toMatchObject({ code: 'E_FORBIDDEN', needed: 'read:audit', roles: ['readers', 'ops'] });
    expect(noRead.body.error).toContain('token:rel is not allowed to do that: it needs read:audit. Roles that have it: readers, ops.');
    // The releasers role may release hello, through the action layer, as token:rel.
    const released = await api('POST', '/releases', releaser, { app: 'hello', version: '7.0.0' });
    expect(released.status).toBe(201);
    expect(released.body).toMatchObject({ release: { app: 'hello', version: '7.0.0', createdBy: 'token:rel' } });
    const notDeploy = await api('POST', '/deployments', releaser, { app: 'hello', environment: 'staging', ref: 'v1' });
    expect(notDeploy.status).toBe(403);
    expect(notDeploy.body.error).toContain('You (token:rel) are not allowed to do that: it needs deploy:staging.');
    expect((await api('GET', '/deployments?app=hello', releaser)).body).toMatchObject({ needed: 'read:deployments' });
    expect((await api('GET', '/deployments?app=hello', reader)).status).toBe(200);
  });

  test('a failed webhook: list it, see its error, retry the dead job, replay the delivery (both audited), payload secrets masked', async () => {
    // The chat refuses the message (a 404 from the platform: a permanent failure), so the run is dead at once.
    deckhand.setChat({ post: async () => Promise.reject(new DeckhandError(ErrorCode.Upstream, 'chat.postMessage: channel_not_found', { status: 404 })), react: async () => undefined });
    await trigger({ n: 'one', note: `see ${feedKey}`, password: 'hunter2-hunter2', nested: [{ apiKey: 'abc' }] });
    const dead = await deadReactionJob();
    expect(dead.lastError).toContain('channel_not_found');
    deckhand.setChat(recording);

    // The delivery itself was processed (its reaction's run is the job that died).
    const listed = await api('GET', '/deliveries?source=trigger:feed', reader);
    expect(listed.status).toBe(200);
    const deliveries = listed.body.deliveries as Array<{ id: number; outcome: string; jobs: number; job: { type: string } }>;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ outcome: 'done', jobs: 1, job: { type: 'delivery' } });
    const id = deliveries[0]!.id;

    const detail = await api('GET', `/deliveries/${id}`, reader);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id, source: 'trigger:feed', body: { n: 'one', note: 'see ***', password: '***', nested: [{ apiKey: '***' }] }, summary: { id, outcome: 'done' } });
    expect(JSON.stringify(detail.body)).not.toContain(feedKey);

    const deadJobs = await api('GET', '/jobs?state=dead', reader);
    expect(deadJobs.body.jobs).toEqual([expect.objectContaining({ id: dead.id, type: 'reaction', state: 'dead' })]);
    expect(JSON.stringify(deadJobs.body)).not.toContain(feedKey);

    // Reading is not operating.
    const readerRetry = await api('POST', `/jobs/${dead.id}/retry`, reader);
    expect(readerRetry.status).toBe(403);
    expect(readerRetry.body).toMatchObject({ needed: 'operate:jobs', roles: ['ops'] });
    expect((await store.getJob(dead.id))?.state).toBe('dead');

    // The chat takes messages again: the retried job runs again and succeeds.
    const retried = await api('POST', `/jobs/${dead.id}/retry`, ops);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ job: { id: dead.id, state: 'pending', attempts: 1, maxAttempts: 2 } });
    await until(async () => (await store.getJob(dead.id))?.state === 'done', 'the retried job to finish');
    expect(chat.map((c) => c.text)).toEqual(['got one']);
    expect((await api('POST', `/jobs/${dead.id}/retry`, ops)).status).toBe(409); // done, not dead

    // Replay: the stored body is processed again as a new job, and the reaction runs again.
    const replayed = await api('POST', `/deliveries/${id}/replay`, ops);
    expect(replayed.status).toBe(202);
    expect(replayed.body).toMatchObject({ delivery: { id, jobs: 2 }, job: { type: 'delivery', payload: { deliveryId: id, replay: true } } });
    await until(() => chat.length === 2, 'the replayed delivery to reach the chat');
    expect(chat.map((c) => c.text)).toEqual(['got one', 'got one']);
    await deckhand.worker.idle();
    expect((await api('GET', `/deliveries/${id}`, reader)).body).toMatchObject({ summary: { outcome: 'done', jobs: 2 } });
    expect((await api('POST', `/deliveries/${id}/replay`, reader)).body).toMatchObject({ needed: 'operate:deliveries' });

    const audit = await api('GET', '/audit?actor=token:ops', reader);
    expect((audit.body.records as Array<{ action: string; target: string; outcome: string }>).map((r) => [r.action, r.target, r.outcome])).toEqual([
      ['delivery.replay', `delivery #${id}`, 'ok'],
      ['job.retry', `job #${dead.id}`, 'ok'],
    ]);
    const denied = await api('GET', '/audit?actor=token:reader&action=job.retry', reader);
    expect(denied.body.records).toEqual([expect.objectContaining({ outcome: 'denied', details: { needed: 'operate:jobs' } })]);
  });

  test('deliveries filter by outcome (failed), source and time, in pages', async () => {
    for (const n of ['a', 'b', 'c']) await trigger({ n });
    await until(async () => (await store.listDeliveries({ source: 'trigger:feed' })).deliveries.filter((d) => d.outcome === 'done').length >= 4, 'the deliveries to be processed');
    const first = await api('GET', '/deliveries?limit=2', reader);
    expect(first.body.deliveries).toHaveLength(2);
    expect(first.body.next).toEqual(expect.any(Number));
    const second = await api('GET', `/deliveries?limit=2&cursor=${first.body.next as number}`, reader);
    expect((second.body.deliveries as unknown[]).length).toBeGreaterThanOrEqual(1);
    const ids = [...(first.body.deliveries as Array<{ id: number }>), ...(second.body.deliveries as Array<{ id: number }>)].map((d) => d.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    expect((await api('GET', '/deliveries?failed=true', reader)).body.deliveries).toEqual([]);
    expect((await api('GET', '/deliveries?source=github', reader)).body.deliveries).toEqual([]);
    expect((await api('GET', `/deliveries?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, reader)).body.deliveries).toEqual([]);
  });

  test('locks through the action layer: taken and released as token:<name>, audited, refused without lock:<environment>', async () => {
    const refused = await api('POST', '/locks', reader, { environment: 'staging' });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toContain('You (token:reader) are not allowed to do that: it needs lock:staging.');
    const taken = await api('POST', '/locks', ops, { environment: 'stg', app: 'hello', reason: 'db migration' });
    expect(taken.status).toBe(201);
    expect(taken.body).toMatchObject({ lock: { environment: 'staging', app: 'hello', holder: 'token:ops', reason: 'db migration' }, previous: null });
    expect((await api('GET', '/locks', reader)).body).toMatchObject({ locks: [{ environment: 'staging', app: 'hello', holder: 'token:ops' }] });
    // The lock holds for everyone, the token's own deployments too (the same action layer as chat).
    const blocked = await api('POST', '/deployments', ops, { app: 'hello', environment: 'staging', ref: 'v1' });
    expect(blocked.status).toBe(409);
    expect(blocked.body.error).toContain('token:ops');
    const held = await api('POST', '/locks', ops, { environment: 'staging' });
    expect(held.status).toBe(201);
    expect((await api('DELETE', '/locks/staging/hello', ops)).body).toMatchObject({ lock: { app: 'hello', holder: 'token:ops' } });
    expect((await api('DELETE', '/locks/staging', ops)).status).toBe(200);
    const again = await api('DELETE', '/locks/staging', ops);
    expect(again.status).toBe(409);
    expect((await api('DELETE', '/locks/nowhere', ops)).status).toBe(404);
    const audit = (await api('GET', '/audit?environment=staging&actor=token:ops', reader)).body.records as Array<{ action: string; app: string | null; outcome: string }>;
    expect(audit.map((r) => [r.action, r.app, r.outcome])).toEqual([
      ['unlock', null, 'ok'],
      ['unlock', 'hello', 'ok'],
      ['lock', null, 'ok'],
      ['deploy', 'hello', 'denied'],
      ['lock', 'hello', 'ok'],
    ]);
  });

  test('hostile input is a 4xx naming the problem, never a 5xx', async () => {
    const cases: Array<[string, string, unknown, number]> = [
      ['GET', '/deliveries/abc', undefined, 400],
      ['GET', '/deliveries/0', undefined, 400],
      ['GET', '/deliveries/1e3', undefined, 400],
      ['GET', '/deliveries/0x10', undefined, 400],
      ['GET', '/deliveries?limit=1e2', undefined, 400],
      ['GET', '/deliveries?cursor=-5', undefined, 400],
      ['GET', '/deliveries/99999999999999999999', undefined, 400],
      ['GET', '/deliveries/999999', undefined, 404],
      ['POST', '/deliveries/999999/replay', undefined, 404],
      ['POST', '/jobs/999999/retry', undefined, 404],
      ['POST', '/jobs/-1/retry', undefined, 400],
      ['GET', '/deliveries?limit=0', undefined, 400],
      ['GET', '/deliveries?limit=100000', undefined, 400],
      ['GET', '/deliveries?since=yesterday', undefined, 400],
      ['GET', '/deliveries?outcome=exploded', undefined, 400],
      ['GET', '/deliveries?failed=maybe', undefined, 400],
      ['GET', '/deliveries?failed=true&outcome=done', undefined, 400],
      ['GET', '/deliveries?colour=red', undefined, 400],
      ['GET', '/deliveries?source=a&source=b', undefined, 400],
      ['GET', '/jobs?state=zombie', undefined, 400],
      ['GET', '/audit?app=../../etc', undefined, 400],
      ['GET', '/audit?until=2026-13-45', undefined, 400],
      ['GET', '/audit?before=x', undefined, 400],
      ['POST', '/locks', '{"environment": ', 400],
      ['POST', '/locks', { environment: 'staging', extra: 1 }, 400],
      ['POST', '/locks', { environment: 'staging', takeover: 'yes' }, 400],
      ['POST', '/locks', { environment: 'no such env' }, 400],
      ['POST', '/locks', { environment: 'nowhere' }, 404],
      ['POST', '/locks', [], 400],
      ['DELETE', '/locks/%00', undefined, 400],
    ];
    for (const [method, url, body, status] of cases) {
      const answer = await api(method, url, ops, body);
      expect([method, url, answer.status]).toEqual([method, url, status]);
      expect(typeof answer.body.error).toBe('string');
    }
  });
});
