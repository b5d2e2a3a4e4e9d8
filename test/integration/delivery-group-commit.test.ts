import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createDeckhand, projectRoot, type Deckhand } from '../../src/app.js';
import { ErrorCode } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { testConfig } from '../fixtures/config.js';

/**
 * Group commit over real HTTP (POST /webhooks/github and /triggers/<name>, many requests at once
 * on separate connections): each request is answered after its batch committed — 202 once per
 * delivery id, 200 for every repeat, even repeats racing in the same batch — and a batch that
 * cannot commit answers 503 to every request in it and stores nothing.
 */

const githubSecret = 'group-commit-github-secret';
const triggerKey = 'group-commit-trigger-key-0123';
let dir: string;
let store: SqliteStore;
let deckhand: Deckhand;
let base: string;
const batches: number[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-group-commit-'));
  const reactions = path.join(dir, 'reactions');
  mkdirSync(reactions);
  writeFileSync(path.join(reactions, 'hook.yaml'), `on:\n  webhook: hook\n  auth: { api_key: "\${secret.HOOK_KEY}" }\n  where: { path: payload.never, exists: true }\ndo:\n  - chat: { channel: "#ops", text: "never" }\n`);
  store = new SqliteStore(path.join(dir, 'deckhand.db'));
  await store.migrate();
  (store as unknown as { db: Database.Database }).db.pragma('busy_timeout = 100');
  const acceptDeliveries = store.acceptDeliveries.bind(store);
  store.acceptDeliveries = (items) => {
    batches.push(items.length);
    return acceptDeliveries(items);
  };
  deckhand = await createDeckhand({
    config: testConfig(),
    store,
    logger: silentLogger,
    dataDir: path.join(dir, 'data'),
    commandsDir: path.join(projectRoot, 'commands'),
    reactions: loadReactions(reactions, { HOOK_KEY: triggerKey }).reactions,
    reactionsBaseDir: dir,
    jobPollMs: 20,
    github: { webhookSecret: githubSecret, apiUrl: 'https://api.github.invalid' },
  } as Parameters<typeof createDeckhand>[0]);
  deckhand.setChat({ post: async () => undefined, react: async () => undefined });
  base = await deckhand.http.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await deckhand?.close();
  rmSync(dir, { recursive: true, force: true });
});

const github = (id: string) => {
  const body = JSON.stringify({ zen: 'group commit', hook_id: 1 });
  // A fresh connection per request, so the requests really arrive together rather than in turn.
  return fetch(`${base}/webhooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close', 'x-github-event': 'watch', 'x-github-delivery': id, 'x-hub-signature-256': githubSignature(githubSecret, body) }, body });
};
const trigger = (id: string) =>
  fetch(`${base}/triggers/hook`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close', 'x-api-key': triggerKey, 'x-delivery-id': id }, body: JSON.stringify({ id }) });

const count = (sql: string) => {
  const db = new Database(path.join(dir, 'deckhand.db'), { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

test('60 requests at once, 20 of them repeats (each of 5 ids thrice per route): one 202 per delivery id, 200 for every repeat, one delivery and one job each', async () => {
  const ids = [...Array.from({ length: 20 }, (_, i) => `g-${i}`), ...Array.from({ length: 10 }, (_, i) => `g-${i % 5}`)];
  const tids = [...Array.from({ length: 20 }, (_, i) => `t-${i}`), ...Array.from({ length: 10 }, (_, i) => `t-${i % 5}`)];
  const answers = await Promise.all([...ids.map((id) => github(id).then(async (r) => ({ id, status: r.status, body: (await r.json()) as { status: string } }))), ...tids.map((id) => trigger(id).then(async (r) => ({ id, status: r.status, body: (await r.json()) as { status: string } })))]);
  const byId = new Map<string, number[]>();
  for (const a of answers) byId.set(a.id, [...(byId.get(a.id) ?? []), a.status].sort());
  for (const [id, statuses] of byId) expect({ id, statuses }).toEqual({ id, statuses: [...Array<number>(statuses.length - 1).fill(200), 202] });
  expect(byId.size).toBe(40);
  expect(count(`SELECT count(*) AS n FROM deliveries WHERE source = 'github'`)).toBe(20);
  expect(count(`SELECT count(*) AS n FROM deliveries WHERE source = 'trigger:hook'`)).toBe(20);
  expect(count('SELECT count(*) AS n FROM jobs')).toBe(40);
  // Every delivery went through the batches (how they fell into batches depends on arrival).
  expect(batches.reduce((a, b) => a + b, 0)).toBe(60);
});

test('a batch that cannot commit (the write lock held elsewhere): every request in it is answered 503, none is stored, and the retries are 202', async () => {
  const before = count('SELECT count(*) AS n FROM deliveries');
  const other = new Database(path.join(dir, 'deckhand.db'));
  other.exec('BEGIN IMMEDIATE');
  let answers: Array<{ status: number; code?: string }>;
  try {
    answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? github(`locked-${i}`) : trigger(`locked-${i}`)).then(async (r) => ({ status: r.status, code: ((await r.json()) as { code?: string }).code }))));
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  expect(answers).toEqual(Array(12).fill({ status: 503, code: ErrorCode.StoreUnavailable }));
  expect(count('SELECT count(*) AS n FROM deliveries')).toBe(before);
  const retried = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? github(`locked-${i}`) : trigger(`locked-${i}`)).then((r) => r.status)));
  expect(retried).toEqual(Array(12).fill(202));
});
