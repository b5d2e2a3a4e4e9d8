import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../fixtures/harness.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import { mintApiToken } from '../../src/http/api-tokens.js';
import { maxJsonDepth } from '../../src/http/webhook-body.js';
import { victorOpsSignature } from '../../src/oncall/signature.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { startInProcess, type InProcess } from '../fixtures/in-process.js';

const triggerKey = 'trigger-key-0123456789abcdef';
const githubSecret = 'github-webhook-secret-123';
const octopusSecret = 'octopus-webhook-secret-0123456789';
const victorOpsKey = 'victorops-key-0123456789';
const victorOpsUrl = 'https://deckhand.test/webhooks/victorops';

/** `levels` objects inside each other: {"a":{"a":…1…}}. 10 000 levels overflowed JSON.stringify when the delivery was stored. */
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const nestedArrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const tooDeep = new RegExp(`more than ${maxJsonDepth} levels deep`);

describe('deeply nested JSON from a client with valid credentials: a 400 that says so, never a 5xx', () => {
  let h: InProcess;
  let apiToken: string;

  beforeAll(async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-hostile-'));
    mkdirSync(path.join(root, 'reactions'));
    writeFileSync(path.join(root, 'reactions', 'feed.yaml'), `on: { webhook: feed, auth: { api_key: "\${secret.FEED_KEY}" } }\ndo:\n  - chat: { channel: "#feed", text: "got {{ payload.b | size }}" }\n`);
    h = await startInProcess({
      reactions: loadReactions(path.join(root, 'reactions'), { FEED_KEY: triggerKey }).reactions,
      reactionsBaseDir: root,
      github: { webhookSecret: githubSecret, apiUrl: 'http://127.0.0.1:9' },
      octopus: { url: 'http://127.0.0.1:9', apiKey: 'API-FAKE', space: 'Default', webhookSecret: octopusSecret, webhookHeader: 'X-Deckhand-Secret' },
      oncall: { apiUrl: 'http://127.0.0.1:9', webhookUrl: victorOpsUrl, webhookKey: victorOpsKey },
    });
    apiToken = (await mintApiToken(h.store, new ManualClock(new Date()), { actor: 'reaction:test', scopes: ['release', 'deploy', 'message'], ttlMs: 600_000 })).token;
  });
  afterAll(async () => h?.close());

  let n = 0;
  const trigger = (body: string) => fetch(`${h.base}/triggers/feed`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': triggerKey }, body });
  const github = (body: string, contentType = 'application/json') =>
    fetch(`${h.base}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-github-event': 'push', 'x-github-delivery': `deep-${++n}`, 'x-hub-signature-256': githubSignature(githubSecret, body) },
      body,
    });
  const octopus = (body: string) => fetch(`${h.base}/webhooks/octopus`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-deckhand-secret': octopusSecret }, body });
  const victorops = (body: string, contentType: string) =>
    fetch(`${h.base}/webhooks/victorops`, { method: 'POST', headers: { 'content-type': contentType, 'x-victorops-signature': victorOpsSignature(victorOpsKey, victorOpsUrl, new URLSearchParams(body)) }, body });
  const api = (url: string, body: string) => fetch(`${h.base}/api/v1${url}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` }, body });

  async function expectTooDeep(response: Response): Promise<void> {
    const text = await response.text();
    expect({ status: response.status, text }).toEqual({ status: 400, text: expect.stringMatching(tooDeep) });
  }

  test('/triggers/<name>: 10 000 levels of objects or arrays get 400; nothing is stored', async () => {
    await expectTooDeep(await trigger(nested(10_000)));
    await expectTooDeep(await trigger(nestedArrays(10_000)));
    expect(await h.store.listJobs({ type: 'delivery' })).toEqual([]);
  });

  test(`/triggers/<name>: ${maxJsonDepth} levels are accepted, ${maxJsonDepth + 1} are not; brackets inside strings do not count`, async () => {
    expect((await trigger(nested(maxJsonDepth))).status).toBe(202);
    await expectTooDeep(await trigger(nested(maxJsonDepth + 1)));
    // A string full of brackets, with escaped quotes and backslashes that must not end it early.
    const text = `${'[{'.repeat(500)} \\" \\\\" ${'{'.repeat(500)}`;
    const flat = JSON.stringify({ a: text, b: ['\\', '"[', '{"'] });
    expect((await trigger(flat)).status).toBe(202);
  });

  test('/webhooks/github: too deep as JSON and as form payload= both get 400 (even for a ping)', async () => {
    await expectTooDeep(await github(nested(10_000)));
    await expectTooDeep(await github(`payload=${encodeURIComponent(nested(10_000))}`, 'application/x-www-form-urlencoded'));
    expect(await h.store.listJobs({ type: 'github' })).toEqual([]);
  });

  test('/webhooks/octopus: too deep gets 400', async () => {
    await expectTooDeep(await octopus(`{"Payload":{"Event":{"Id":"Events-1","Category":"DeploymentSucceeded","Extra":${nested(10_000)}}}}`));
    expect(await h.store.listJobs({ type: 'octopus' })).toEqual([]);
  });

  test('/webhooks/victorops: form fields are flat strings, so deep JSON text in one is just text (202); a JSON body is 415', async () => {
    const form = new URLSearchParams({ entity_id: 'deep-entity', message_type: 'CRITICAL', entity_display_name: nested(10_000) }).toString();
    expect((await victorops(form, 'application/x-www-form-urlencoded')).status).toBe(202);
    expect((await victorops(nested(10_000), 'application/json')).status).toBe(415);
  });

  test('/api/v1: too deep gets 400 from the JSON parser', async () => {
    await expectTooDeep(await api('/releases', `{"app":"hello","version":"1.0","packages":${nested(10_000)}}`));
    await expectTooDeep(await api('/messages', nestedArrays(10_000)));
    // A normal body still works through the replaced parser; malformed JSON keeps Fastify's 400.
    expect((await api('/messages', JSON.stringify({ channel: '#general', text: 'still parsed' }))).status).toBe(202);
    expect((await api('/releases', '{"app": ')).status).toBe(400);
  });

  test('the server is still healthy afterwards', async () => {
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
  });
});
