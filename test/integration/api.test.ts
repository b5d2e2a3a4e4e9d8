import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot, type Deckhand } from '../../src/app.js';
import { mintApiToken } from '../../src/http/api-tokens.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ManualClock } from '../fixtures/harness.js';
import { startInProcess, until } from '../fixtures/in-process.js';

const key = 'feed-key-0123456789abcdef';

describe('the REST API scripts get (/api/v1)', () => {
  let deckhand: Deckhand;
  let store: SqliteStore;
  let base: string;
  let tokenFile: string;
  let chat: Array<{ channel: string; text: string }> = [];

  beforeAll(async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-api-'));
    mkdirSync(path.join(root, 'reactions'));
    tokenFile = path.join(root, 'token');
    writeFileSync(
      path.join(root, 'reactions', 'feed.yaml'),
      `on: { webhook: feed, auth: { api_key: "\${secret.FEED_KEY}" } }
do:
  - script:
      path: ${path.join(projectRoot, 'test/fixtures/reactions/use-api.sh')}
      env: { HELPER: ${path.join(projectRoot, 'scripts/lib/deckhand.sh')}, TOKEN_FILE: ${tokenFile} }
`,
    );
    const running = await startInProcess({ reactions: loadReactions(path.join(root, 'reactions'), { FEED_KEY: key }).reactions, reactionsBaseDir: root });
    ({ deckhand, store, base } = running);
    chat = running.chat;
  });
  afterAll(async () => deckhand.close());

  const api = (method: string, url: string, token?: string, body?: unknown) =>
    fetch(`${base}/api/v1${url}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });

  test('a reaction script creates a release and posts a message through the bash helper; its token dies with the run', async () => {
    const response = await fetch(`${base}/triggers/feed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ Payload: { PackageIdentifier: 'Hello.Web', PackageVersion: '2.7.0' } }),
    });
    expect(response.status).toBe(202);
    await until(async () => (await store.getRelease('hello', '2.7.0')) !== null && chat.length > 0, 'the release and the message');
    await deckhand.worker.idle();
    expect(await store.getRelease('hello', '2.7.0')).toMatchObject({ notes: 'from the package feed', createdBy: 'reaction:feed' });
    expect(chat.map((c) => c.text)).toEqual(['hello 2.7.0 released by Hello.Web']);
    const used = readFileSync(tokenFile, 'utf8').trim();
    expect((await api('GET', '/deployments?app=hello', used)).status).toBe(401);
  });

  test('authentication, scopes, validation and errors', async () => {
    expect((await api('GET', '/deployments?app=hello')).status).toBe(401);
    expect((await api('GET', '/deployments?app=hello', 'dh_not-a-real-token')).status).toBe(401);
    const readOnly = await mintApiToken(store, new ManualClock(new Date()), { actor: 'reaction:test', scopes: ['read'], ttlMs: 60_000 });
    expect((await api('GET', '/deployments?app=hello', readOnly.token)).status).toBe(200);
    const forbidden = await api('POST', '/releases', readOnly.token, { app: 'hello', version: '9.9.9' });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: 'this token may not release (it may: read)' });

    const full = await mintApiToken(store, new ManualClock(new Date()), { actor: 'reaction:test', scopes: ['deploy', 'release', 'read', 'message'], ttlMs: 60_000 });
    expect((await api('POST', '/releases', full.token, '{"app": ')).status).toBe(400);
    const bad = await api('POST', '/releases', full.token, { app: 'hello', version: '1.0', colour: 'red' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/Unrecognized key/);
    expect((await api('POST', '/deployments', full.token, { app: 'nosuchapp' })).status).toBe(404);
    const deployed = await api('POST', '/deployments', full.token, { app: 'hello', ref: 'v3', environment: 'staging' });
    expect(deployed.status).toBe(202);
    expect(((await deployed.json()) as { deployment: { ref: string; source: string } }).deployment).toMatchObject({ ref: 'v3', source: 'api' });
    await deckhand.runner.idle();
    const listed = (await (await api('GET', '/deployments?app=hello&environment=stg', full.token)).json()) as { deployments: Array<{ ref: string; state: string }> };
    expect(listed.deployments[0]).toMatchObject({ ref: 'v3', state: 'succeeded' });
    await full.revoke();
    expect((await api('GET', '/deployments?app=hello', full.token)).status).toBe(401);
  });
});
