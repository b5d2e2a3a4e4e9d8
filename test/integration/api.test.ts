import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createDeckhand, projectRoot, type Deckhand } from '../../src/app.js';
import { silentLogger } from '../../src/core/logger.js';
import { hashToken, mintApiToken } from '../../src/http/api-tokens.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ApiTokenRun } from '../../src/core/model.js';
import { testConfig } from '../fixtures/config.js';
import { ManualClock } from '../fixtures/harness.js';
import { startInProcess, until } from '../fixtures/in-process.js';

const key = 'feed-key-0123456789abcdef';

/** Script tokens act as reaction:<name> with these roles (besides testConfig's people). */
const scriptRoles = `  reaction-scripts: { members: ["reaction:feed", "reaction:test"], may: [release:hello, deploy:staging] }
  production-bots: { members: ["reaction:deploy*"], may: [deploy:production] }
`;

/** A reaction whose script makes one API call (test/fixtures/reactions/call-api.mjs) and records the answer. */
const callingReaction = (webhook: string, api: string, call: { method: string; path: string; body?: unknown }, out: string) => `on: { webhook: ${webhook}, auth: { api_key: "\${secret.FEED_KEY}" } }
do:
  - script:
      path: ${path.join(projectRoot, 'test/fixtures/reactions/call-api.mjs')}
      ${api}
      env: { OUT_FILE: ${out}, API_METHOD: ${call.method}, API_PATH: ${call.path}${call.body ? `, API_BODY: '${JSON.stringify(call.body)}'` : ''} }
`;

describe('the REST API scripts get (/api/v1)', () => {
  let deckhand: Deckhand;
  let store: SqliteStore;
  let base: string;
  let tokenFile: string;
  let calls: string;
  let chat: Array<{ channel: string; text: string }> = [];

  beforeAll(async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-api-'));
    mkdirSync(path.join(root, 'reactions'));
    tokenFile = path.join(root, 'token');
    calls = path.join(root, 'calls.jsonl');
    writeFileSync(
      path.join(root, 'reactions', 'feed.yaml'),
      `on: { webhook: feed, auth: { api_key: "\${secret.FEED_KEY}" } }
do:
  - script:
      path: ${path.join(projectRoot, 'test/fixtures/reactions/use-api.sh')}
      api: [release, message]
      env: { HELPER: ${path.join(projectRoot, 'scripts/lib/deckhand.sh')}, TOKEN_FILE: ${tokenFile} }
`,
    );
    const toProduction = { method: 'POST', path: '/deployments', body: { app: 'hello', ref: 'v9', environment: 'production' } };
    const files: Record<string, string> = {
      // May deploy (api:), but no role grants reaction:rogue deploy:production.
      'rogue.yaml': callingReaction('rogue', 'api: [deploy]', toProduction, calls),
      // The same, and the production-bots role has reaction:deploy* as a member.
      'deployer.yaml': callingReaction('deployer', 'api: [deploy]', toProduction, calls),
      // Declared read only.
      'reader.yaml': callingReaction('reader', 'api: [read]', toProduction, calls),
      // Declared nothing: no token at all.
      'silent.yaml': callingReaction('silent', '', { method: 'GET', path: '/deployments?app=hello' }, calls),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, 'reactions', name), text);
    const loaded = loadReactions(path.join(root, 'reactions'), { FEED_KEY: key }).reactions;
    const running = await startInProcess({ config: testConfig(scriptRoles), reactions: loaded, reactionsBaseDir: root });
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

  /** Fires a calling reaction's webhook and resolves what its script recorded. */
  async function callFrom(reaction: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${base}/triggers/${reaction}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: '{}' });
    expect(response.status).toBe(202);
    const recorded = () =>
      (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [])
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((c) => c.reaction === reaction);
    await until(() => recorded() !== undefined, `the script of ${reaction}`);
    return recorded()!;
  }

  test("a script's token acts as reaction:<name> with that actor's roles: deploy:production needs a role", async () => {
    const rogue = await callFrom('rogue');
    expect(rogue).toMatchObject({ token: true, status: 403, body: { code: 'E_FORBIDDEN', error: expect.stringContaining('You (reaction:rogue) are not allowed to do that: it needs deploy:production.') } });
    expect(await store.listAudit({ actor: 'reaction:rogue' })).toEqual([expect.objectContaining({ action: 'deploy', outcome: 'denied', details: { needed: 'deploy:production' } })]);

    const deployer = await callFrom('deployer');
    expect(deployer).toMatchObject({
      token: true,
      status: 202,
      body: { deployment: { app: 'hello', ref: 'v9', environment: 'production', requestedBy: 'reaction:deployer', source: 'api' }, approval: { state: 'pending', requestedBy: 'reaction:deployer' } },
    });
    // Only the one with the role got a deployment; it waits for an approver like anyone's.
    expect((await store.listDeployments({ app: 'hello', environment: 'production' })).map((d) => d.requestedBy)).toEqual(['reaction:deployer']);
  });

  test('a scope the reaction did not declare is refused; a script that declares none gets no token', async () => {
    const reader = await callFrom('reader');
    expect(reader).toMatchObject({ token: true, status: 403, body: { code: 'E_FORBIDDEN', error: expect.stringMatching(/^this token may not deploy \(it may: read\)/) } });
    expect(await store.listAudit({ actor: 'reaction:reader' })).toEqual([]); // refused before the action layer
    expect(await callFrom('silent')).toEqual({ reaction: 'silent', token: false });
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
    expect(await forbidden.json()).toMatchObject({ code: 'E_FORBIDDEN', error: "this token may not release (it may: read); a reaction's script lists what it needs under api:" });

    const full = await mintApiToken(store, new ManualClock(new Date()), { actor: 'reaction:test', scopes: ['deploy', 'release', 'read', 'message'], ttlMs: 60_000 });
    expect((await api('POST', '/releases', full.token, '{"app": ')).status).toBe(400);
    const bad = await api('POST', '/releases', full.token, { app: 'hello', version: '1.0', colour: 'red' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/Unrecognized key/);
    expect((await api('POST', '/deployments', full.token, { app: 'nosuchapp' })).status).toBe(404);
    const deployed = await api('POST', '/deployments', full.token, { app: 'hello', ref: 'v3', environment: 'staging' });
    expect(deployed.status).toBe(202);
    expect(((await deployed.json()) as { deployment: { ref: string; source: string } }).deployment).toMatchObject({ ref: 'v3', source: 'api', requestedBy: 'reaction:test' });
    // Every scope, but reaction:test has no role with deploy:production: the token is never Deckhand itself.
    expect((await api('POST', '/deployments', full.token, { app: 'hello', ref: 'v3', environment: 'production' })).status).toBe(403);
    await deckhand.runner.idle();
    const listed = (await (await api('GET', '/deployments?app=hello&environment=stg', full.token)).json()) as { deployments: Array<{ ref: string; state: string }> };
    expect(listed.deployments[0]).toMatchObject({ ref: 'v3', state: 'succeeded' });
    await full.revoke();
    expect((await api('GET', '/deployments?app=hello', full.token)).status).toBe(401);
  });
});

describe('API tokens a killed process left behind', () => {
  test('are deleted at the next start, with the expired ones; a live token stays', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-tokens-'));
    const file = path.join(dir, 'deckhand.db');
    const before = new SqliteStore(file);
    await before.migrate();
    // An hour ago a script was running (job attempt 1, lease of a minute), then the process was killed.
    const then = new ManualClock(new Date(Date.now() - 3_600_000));
    await before.enqueueJob({ type: 'reaction', payload: {}, runAt: then.now().toISOString() });
    const running = (await before.claimJob('worker-of-the-killed-process', then.now().toISOString(), 60_000))!;
    const grant = (ttlMs: number, run: ApiTokenRun | null = null) => mintApiToken(before, then, { actor: 'reaction:feed', scopes: ['read'], ttlMs, run });
    const interrupted = await grant(7_200_000, { jobId: running.id, attempt: running.attempts });
    await grant(60_000); // expired 59 minutes ago
    const live = await grant(7_200_000); // not bound to a run, still within its lifetime
    await before.close(); // nobody revoked anything

    const store = new SqliteStore(file);
    await store.migrate();
    const deckhand = await createDeckhand({ config: testConfig(), store, logger: silentLogger, dataDir: dir, commandsDir: path.join(projectRoot, 'commands') });
    try {
      const db = new Database(file, { readonly: true });
      expect(db.prepare('SELECT hash FROM api_tokens').pluck().all()).toEqual([hashToken(live.token)]);
      db.close();
      const base = await deckhand.http.listen({ port: 0, host: '127.0.0.1' });
      const list = (token: string) => fetch(`${base}/api/v1/deployments?app=hello`, { headers: { authorization: `Bearer ${token}` } });
      expect((await list(interrupted.token)).status).toBe(401);
      expect((await list(live.token)).status).toBe(200);
    } finally {
      await deckhand.close();
    }
  });
});
