import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createDeckhand, projectRoot, type Deckhand } from '../../src/app.js';
import { ErrorCode } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { hashToken } from '../../src/http/api-tokens.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import { classifyError } from '../../src/jobs/classify-error.js';
import { victorOpsSignature } from '../../src/oncall/signature.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { isPostgresUnavailable } from '../../src/store/postgres/db.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { storeUnavailable } from '../../src/store/store-unavailable.js';
import { testConfig } from '../fixtures/config.js';
import { until } from '../fixtures/in-process.js';

/**
 * SQLite's "the database cannot be used just now": another connection holds the write lock past
 * busy_timeout (SQLITE_BUSY). Every route that stores what it was sent answers 503 with
 * Retry-After and stores nothing — never a 500, never a 202 — and answers 202 once the lock is gone.
 * The PostgreSQL side of this (the database really going away) is postgres-outage.test.ts.
 */

const triggerKey = 'unavailable-trigger-key-0123';
const githubSecret = 'unavailable-github-secret';
const octopusSecret = 'unavailable-octopus-secret-0123';
const oncall = { url: 'https://deckhand.example.test/webhooks/victorops', key: 'unavailable-oncall-key' };
const apiToken = 'unavailable-api-token-0123456789';

let dir: string;
let store: SqliteStore;
let deckhand: Deckhand;
let base: string;
const chat: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-unavailable-'));
  const reactions = path.join(dir, 'reactions');
  mkdirSync(reactions);
  writeFileSync(path.join(reactions, 'ping.yaml'), `on:\n  webhook: ping\n  auth: { api_key: "\${secret.PING_KEY}" }\ndo:\n  - chat: { channel: "#ops", text: "ping {{ payload.n }}" }\n`);
  store = new SqliteStore(path.join(dir, 'deckhand.db'));
  await store.migrate();
  // Waiting 5 s for the lock (the default) only makes the test slower; what happens after is the same.
  (store as unknown as { db: Database.Database }).db.pragma('busy_timeout = 100');
  deckhand = await createDeckhand({
    config: testConfig(),
    store,
    logger: silentLogger,
    dataDir: path.join(dir, 'data'),
    commandsDir: path.join(projectRoot, 'commands'),
    reactions: loadReactions(reactions, { PING_KEY: triggerKey }).reactions,
    reactionsBaseDir: dir,
    jobPollMs: 20,
    github: { webhookSecret: githubSecret, apiUrl: 'https://api.github.invalid' },
    octopus: { url: 'https://octopus.invalid', apiKey: 'API-UNUSED', space: 'Spaces-1', webhookSecret: octopusSecret, webhookHeader: 'X-Deckhand-Secret' },
    oncall: { apiUrl: 'https://oncall.invalid', webhookUrl: oncall.url, webhookKey: oncall.key },
  } as Parameters<typeof createDeckhand>[0]);
  deckhand.setChat({ post: async (_channel, text) => void chat.push(text), react: async () => undefined });
  base = await deckhand.http.listen({ port: 0, host: '127.0.0.1' });
  deckhand.startBackground();
  const now = new Date();
  await store.createApiToken({ hash: hashToken(apiToken), actor: 'alice', scopes: ['release'], createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 3_600_000).toISOString(), run: null });
});
afterAll(async () => deckhand?.close());

const json = { 'content-type': 'application/json' };
const requests: Record<string, (n: number) => Promise<Response>> = {
  '/triggers/ping': (n) => fetch(`${base}/triggers/ping`, { method: 'POST', headers: { ...json, 'x-api-key': triggerKey, 'x-delivery-id': `t-${n}` }, body: JSON.stringify({ n }) }),
  '/webhooks/github': (n) => {
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    return fetch(`${base}/webhooks/github`, { method: 'POST', headers: { ...json, 'x-github-event': 'push', 'x-github-delivery': `g-${n}`, 'x-hub-signature-256': githubSignature(githubSecret, body) }, body });
  },
  '/webhooks/octopus': (n) =>
    fetch(`${base}/webhooks/octopus`, { method: 'POST', headers: { ...json, 'x-deckhand-secret': octopusSecret }, body: JSON.stringify({ Payload: { Event: { Id: `Events-${n}`, Category: 'Noted' } } }) }),
  '/webhooks/victorops': (n) => {
    const params = new URLSearchParams({ entity_id: `incident-${n}`, message_type: 'INFO', state_message: 'note' });
    return fetch(`${base}/webhooks/victorops`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-victorops-signature': victorOpsSignature(oncall.key, oncall.url, params) }, body: params.toString() });
  },
  '/api/v1/releases': (n) => fetch(`${base}/api/v1/releases`, { method: 'POST', headers: { ...json, authorization: `Bearer ${apiToken}` }, body: JSON.stringify({ app: 'hello', version: `1.0.${n}` }) }),
};

const deliveryCount = () => {
  const db = new Database(path.join(dir, 'deckhand.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

test('SQLITE_BUSY (the write lock held elsewhere past busy_timeout): every storing route answers 503 with Retry-After and stores nothing; 202 once it is free', async () => {
  const other = new Database(path.join(dir, 'deckhand.db'));
  other.exec('BEGIN IMMEDIATE'); // another process holding the write lock
  try {
    for (const [route, send] of Object.entries(requests)) {
      const response = await send(1);
      expect({ route, status: response.status, retryAfter: response.headers.get('retry-after') }).toEqual({ route, status: 503, retryAfter: '5' });
      expect(((await response.json()) as { code?: string }).code).toBe(ErrorCode.StoreUnavailable);
    }
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  expect(deliveryCount()).toBe(0);
  expect(await store.listReleases('hello')).toEqual([]);

  for (const [route, send] of Object.entries(requests)) {
    expect({ route, status: (await send(1)).status }).toEqual({ route, status: route === '/api/v1/releases' ? 201 : 202 });
  }
  expect(deliveryCount()).toBe(4);
  await until(() => chat.includes('ping 1'), 'the trigger reaction to post');
});

test('what counts as "the store is unavailable": codes, never message text; it is a transient job failure', () => {
  const sqlite = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  expect(classifyError(storeUnavailable(sqlite, 'sqlite'))).toBe('transient');
  // PostgreSQL: socket errnos, SQLSTATE class 08 and shutdown states, and node-postgres's own code-less errors.
  expect(isPostgresUnavailable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
  expect(isPostgresUnavailable(Object.assign(new Error('x'), { code: '57P01' }))).toBe(true);
  expect(isPostgresUnavailable(Object.assign(new Error('x'), { code: '08006' }))).toBe(true);
  expect(isPostgresUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  expect(isPostgresUnavailable(new AggregateError([Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })]))).toBe(true);
  // What the server says about a statement is not: a unique violation, or a message that merely mentions connections.
  expect(isPostgresUnavailable(Object.assign(new Error('connection refused'), { code: '23505' }))).toBe(false);
  expect(isPostgresUnavailable(new TypeError('Connection terminated'))).toBe(false);
});
