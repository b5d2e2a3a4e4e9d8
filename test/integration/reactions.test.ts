import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { startRecordingServer, type RecordingServer } from '../fakes/recording-server.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';

const apiKey = 'trigger-key-0123456789abcdef';
const hmacSecret = 'hmac-secret-0123456789abcdef';

function reactionsDir(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-reactions-'));
  const dir = path.join(root, 'reactions');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

type Harness = InProcess;

async function start(dir: string, env: NodeJS.ProcessEnv): Promise<Harness> {
  return startInProcess({ reactions: loadReactions(dir, env).reactions, reactionsBaseDir: path.dirname(dir) });
}

describe('reactions: internal events to outgoing HTTP', () => {
  let server: RecordingServer;
  let h: Harness;
  beforeAll(async () => {
    server = await startRecordingServer();
    const dir = reactionsDir({
      'marker.yaml': `
name: marker
on:
  event: [deployment.started, deployment.succeeded]
  where: { app: hello, environment: staging }
do:
  - http:
      method: POST
      url: ${server.url}/v2/applications/\${env.APP_ID}/deployments.json
      headers: { X-Api-Key: "\${secret.MARKER_KEY}" }
      json:
        deployment:
          revision: "{{ deployment.ref }}"
          description: "{{ deployment.app }} {{ event.type }} by {{ deployment.requestedBy }}"
`,
    });
    h = await start(dir, { APP_ID: '123', MARKER_KEY: 'marker-secret-key-42' });
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  test('a deployment sends a marker per matching event, rendered from the event, with the secret from the environment', async () => {
    await h.deckhand.actions.deploy({ id: 'bob' }, { app: 'hello', environment: 'staging', ref: 'v1.2.3' });
    await h.deckhand.actions.deploy({ id: 'bob' }, { app: 'hello', environment: 'production', ref: 'v9', dryRun: true });
    await h.deckhand.runner.idle();
    await until(() => server.requests.length >= 2);
    await h.deckhand.worker.idle();
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v2/applications/123/deployments.json', 'POST /v2/applications/123/deployments.json']);
    expect(server.requests[0]?.headers['x-api-key']).toBe('marker-secret-key-42');
    expect(server.requests.map((r) => r.json)).toEqual([
      { deployment: { revision: 'v1.2.3', description: 'hello deployment.started by bob' } },
      { deployment: { revision: 'v1.2.3', description: 'hello deployment.succeeded by bob' } },
    ]);
    // The production dry run did not match the filter.
    expect(JSON.stringify(server.requests)).not.toContain('v9');
  });

  test('a failing endpoint is retried, then the run is recorded as failed, never as sent', async () => {
    server.respond(() => ({ status: 503, body: 'down' }));
    await h.deckhand.actions.deploy({ id: 'bob' }, { app: 'hello', environment: 'staging', ref: 'v2' });
    await h.deckhand.runner.idle();
    await until(async () => (await h.store.listJobs({ type: 'reaction', limit: 10 })).some((j) => j.lastError !== null), 'a failed attempt', 20_000);
    const failed = (await h.store.listJobs({ type: 'reaction', limit: 10 })).filter((j) => j.lastError);
    expect(failed[0]?.lastError).toMatch(/HTTP POST failed after 4 attempts: HTTP 503/);
    expect(failed[0]?.state).not.toBe('done');
    server.respond(() => ({ status: 200, body: '{}' }));
  }, 30_000);

  test('an endpoint that refuses the request (422) is not retried: the run is dead at once, with the reason', async () => {
    server.respond((req) => (JSON.stringify(req.json).includes('v-refused') ? { status: 422, body: '{"error":"revision is not valid"}' } : { status: 200, body: '{}' }));
    try {
      await h.deckhand.actions.deploy({ id: 'bob' }, { app: 'hello', environment: 'staging', ref: 'v-refused' });
      await h.deckhand.runner.idle();
      const refused = async () => (await h.store.listJobs({ type: 'reaction', limit: 50 })).filter((j) => JSON.stringify(j.payload).includes('v-refused'));
      await until(async () => (await refused()).length === 2 && (await refused()).every((j) => j.state === 'dead'), 'both runs to be dead');
      for (const job of await refused()) expect(job).toMatchObject({ state: 'dead', attempts: 1, lastError: 'HTTP POST failed after 1 attempts: HTTP 422 Unprocessable Entity' });
      expect(server.requests.filter((r) => r.body.includes('v-refused'))).toHaveLength(2); // one per event, none repeated
    } finally {
      server.respond(() => ({ status: 200, body: '{}' }));
    }
  });
});

describe('reactions: permanent failures go dead at once', () => {
  test('a deploy with an invalid ref and a template over the size limit are not retried', async () => {
    const dir = reactionsDir({
      'bad-ref.yaml': `on: { event: release.created, where: { app: hello } }\ndo:\n  - deploy: { app: hello, ref: "{{ release.version }} please", environment: staging }\n`,
      'too-long.yaml': `on: { event: release.created, where: { app: hello } }\ndo:\n  - chat: { channel: "#rel", text: "{% for i in (1..20000) %}0123456789{% endfor %}" }\n`,
    });
    const h = await start(dir, {});
    try {
      await h.deckhand.actions.createRelease({ id: 'alice' }, { app: 'hello', version: '5.0.0' });
      const jobs = () => h.store.listJobs({ type: 'reaction' });
      await until(async () => (await jobs()).length === 2 && (await jobs()).every((j) => j.state === 'dead'), 'both runs to be dead');
      const byReaction = Object.fromEntries((await jobs()).map((j) => [(j.payload as { reaction: string }).reaction, j]));
      expect(byReaction['bad-ref']).toMatchObject({ state: 'dead', attempts: 1, lastError: expect.stringMatching(/^ref: a ref is a branch, tag or commit/) });
      expect(byReaction['too-long']).toMatchObject({ state: 'dead', attempts: 1, lastError: expect.stringMatching(/output is longer than 100000 characters/) });
      expect(await h.store.listDeployments({ app: 'hello' })).toEqual([]);
      expect(h.chat).toEqual([]);
    } finally {
      await h.close();
    }
  });
});

describe('reactions: webhooks at /triggers/<name>', () => {
  let h: Harness;
  let out: string;
  beforeAll(async () => {
    out = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-out-')), 'runs.log');
    mkdirSync(path.join(path.dirname(out), 'x'), { recursive: true });
    const script = path.join(projectRoot, 'test/fixtures/reactions/record-payload.sh');
    const dir = reactionsDir({
      'myget.yaml': `
name: myget-new-package
on:
  webhook: mygetpackage
  auth: { api_key: "\${secret.MYGET_KEY}" }
do:
  - script: { path: ${script}, env: { OUT_FILE: "\${env.OUT_FILE}" } }
  - chat: { channel: "#deploys", text: "New package {{ payload.Payload.PackageIdentifier }} {{ payload.Payload.PackageVersion }}" }
`,
      'signed.yaml': `
on:
  webhook: signed
  auth: { hmac: { secret: "\${secret.SIGNED_SECRET}", header: X-Signature, prefix: "sha256=" } }
do:
  - chat: { channel: "#ops", text: "signed {{ payload.n }}" }
`,
    });
    h = await start(dir, { MYGET_KEY: apiKey, SIGNED_SECRET: hmacSecret, OUT_FILE: out });
  });
  afterAll(async () => h.close());

  const post = (name: string, body: string, headers: Record<string, string> = {}, query = '') =>
    fetch(`${h.base}/triggers/${name}${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const myget = (version: string) => JSON.stringify({ Payload: { PackageIdentifier: 'Api', PackageVersion: version } });

  test('authentication: the key by header, bearer or query; wrong or missing keys are 401', async () => {
    expect((await post('mygetpackage', myget('1.0.0'), { 'x-api-key': 'wrong-key-0123456789' })).status).toBe(401);
    const missing = await post('mygetpackage', myget('1.0.0'));
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: 'missing API key: send X-Api-Key, Authorization: Bearer, or ?apiKey=' });
    expect((await post('mygetpackage', myget('1.0.1'), { 'x-api-key': apiKey, 'x-delivery-id': 'a1' })).status).toBe(202);
    expect((await post('mygetpackage', myget('1.0.2'), { authorization: `Bearer ${apiKey}`, 'x-delivery-id': 'a2' })).status).toBe(202);
    expect((await post('mygetpackage', myget('1.0.3'), { 'x-delivery-id': 'a3' }, `?apiKey=${apiKey}&env=staging`)).status).toBe(202);
    await until(() => h.chat.length >= 3);
    expect(h.chat.map((c) => c.text).sort()).toEqual(['New package Api 1.0.1', 'New package Api 1.0.2', 'New package Api 1.0.3']);
  });

  test('bad input: malformed JSON 400, wrong content type 415, oversized 413, unknown trigger 404', async () => {
    const key = { 'x-api-key': apiKey };
    const malformed = await post('mygetpackage', '{"Payload": ', key);
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: string }).error).toMatch(/^malformed JSON/);
    expect((await post('mygetpackage', 'x', { ...key, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('mygetpackage', JSON.stringify({ big: 'x'.repeat(2 * 1024 * 1024) }), key)).status).toBe(413);
    expect((await post('nope', '{}', key)).status).toBe(404);
    // Nothing of that was stored.
    expect((await h.store.listJobs({ type: 'delivery' })).length).toBe(3);
  });

  test('form bodies and HMAC signatures', async () => {
    const body = 'n=42';
    const signature = `sha256=${createHmac('sha256', hmacSecret).update(body).digest('hex')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await post('signed', body, { ...form, 'x-signature': 'sha256=00' })).status).toBe(401);
    expect((await post('signed', 'n=43', { ...form, 'x-signature': signature })).status).toBe(401); // body changed
    expect((await post('signed', body, { ...form, 'x-signature': signature })).status).toBe(202);
    await until(() => h.chat.some((c) => c.text === 'signed 42'));
  });

  test('a redelivery with the same id is acknowledged but runs nothing twice; the script got payload and query', async () => {
    const headers = { 'x-api-key': apiKey, 'x-delivery-id': 'same-id' };
    expect((await post('mygetpackage', myget('2.0.0'), headers, '?env=prod')).status).toBe(202);
    const again = await post('mygetpackage', myget('2.0.0'), headers, '?env=prod');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate', delivery: 'same-id' });
    await until(() => h.chat.filter((c) => c.text === 'New package Api 2.0.0').length === 1);
    await h.deckhand.worker.idle();
    await new Promise((r) => setTimeout(r, 200));
    expect(h.chat.filter((c) => c.text === 'New package Api 2.0.0')).toHaveLength(1);
    // The stored copy keeps the headers, never the credentials.
    const stored = await Promise.all((await h.store.listJobs({ type: 'delivery', limit: 100 })).map((j) => h.store.getDelivery((j.payload as { deliveryId: number }).deliveryId)));
    const same = stored.find((d) => d?.deliveryId === 'same-id');
    expect(same?.headers['x-delivery-id']).toBe('same-id');
    expect(Object.keys(same?.headers ?? {})).not.toContain('x-api-key');
    expect(stored.some((d) => d && ('authorization' in d.headers || 'x-api-key' in d.headers || 'apiKey' in d.query))).toBe(false);
    const runs = readFileSync(out, 'utf8').trim().split('\n');
    expect(runs.filter((l) => l.includes('version=2.0.0'))).toEqual(['myget-new-package webhook version=2.0.0 env=prod']);
  });
});

describe('reactions: schedules and de-duplication', () => {
  let h: Harness;
  beforeAll(async () => {
    const dir = reactionsDir({
      'weekday-staging.yaml': `
on:
  schedule: "0 9 * * 1-5"
  timezone: Europe/Amsterdam
do:
  - deploy: { app: hello, ref: main, environment: staging }
`,
      'window.yaml': `
on:
  event: release.created
  where: { app: hello }
once_per: "{{ release.app }}"
once_per_window: 1h
do:
  - chat: { channel: "#hourly", text: "first release of hello this hour: {{ release.version }}" }
`,
      'announce-release.yaml': `
on:
  event: release.created
  where: { app: hello }
once_per: "{{ release.version | split: '-' | first }}"
do:
  - chat: { channel: "#releases", text: "hello {{ release.version }} is out" }
`,
    });
    h = await start(dir, {});
  });
  afterAll(async () => h.close());

  test('a schedule tick runs once, however many replicas fire it; the deploy goes through the action layer', async () => {
    const at = new Date('2026-11-23T08:00:00.000Z'); // 09:00 in Amsterdam
    const fired = await Promise.all([h.deckhand.scheduler.fire('weekday-staging', at), h.deckhand.scheduler.fire('weekday-staging', new Date(at.getTime() + 30_000))]);
    expect(fired.filter(Boolean)).toHaveLength(1);
    await until(async () => (await h.store.listDeployments({ app: 'hello' })).length === 1);
    const [deployment] = await h.store.listDeployments({ app: 'hello' });
    expect(deployment).toMatchObject({ ref: 'main', environment: 'staging', requestedBy: 'reaction:weekday-staging', source: 'reaction' });
    await h.deckhand.runner.idle();
    expect((await h.store.listAudit({ actor: 'reaction:weekday-staging' }))[0]).toMatchObject({ action: 'deploy', outcome: 'ok' });
  });

  test('once_per: one run per rendered key', async () => {
    // alice may create releases of hello in testConfig (release:hello).
    const alice = { id: 'alice' };
    await h.deckhand.actions.createRelease(alice, { app: 'hello', version: '1.4.0-rc1' });
    await h.deckhand.actions.createRelease(alice, { app: 'hello', version: '1.4.0-rc2' });
    await h.deckhand.actions.createRelease(alice, { app: 'hello', version: '1.5.0' });
    await until(() => h.chat.length >= 3);
    await h.deckhand.worker.idle();
    expect(h.chat.filter((c) => c.channel === '#releases').map((c) => c.text)).toEqual(['hello 1.4.0-rc1 is out', 'hello 1.5.0 is out']);
    expect(h.chat.filter((c) => c.channel === '#hourly').map((c) => c.text)).toEqual(['first release of hello this hour: 1.4.0-rc1']);
  });
});

describe('the daily deployment summary from the catalog', () => {
  test('a tick posts the last 24 hours of deployments', async () => {
    const file = path.join(projectRoot, 'reactions/daily-deploy-summary.yaml');
    const dir = reactionsDir({ 'daily-deploy-summary.yaml': readFileSync(file, 'utf8') });
    const h = await start(dir, { DECKHAND_SUMMARY_CHANNEL: '#deploys' });
    try {
      await h.deckhand.actions.deploy({ id: 'bob' }, { app: 'hello', environment: 'staging', ref: 'v1' });
      await h.deckhand.actions.deploy({ id: 'bob' }, { app: 'hello', environment: 'staging', ref: 'fail-1' });
      await h.deckhand.runner.idle();
      expect(await h.deckhand.scheduler.fire('daily-deploy-summary', new Date(Date.now() + 60_000))).toBe(true);
      await until(() => h.chat.length === 1, 'the summary');
      expect(h.chat[0]).toEqual({
        channel: '#deploys',
        text: 'Deployments in the last 24 hours: 2 (1 succeeded, 1 failed, 0 cancelled).\n• #1 hello/v1 to staging: succeeded (bob)\n• #2 hello/fail-1 to staging: failed (bob)',
      });
    } finally {
      await h.close();
    }
  });
});

describe('reactions: limits and isolation', () => {
  test('concurrency: 1 — runs of one reaction never overlap, and all of them run (node script, DECKHAND_PAYLOAD)', async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-conc-')), 'runs.log');
    const dir = reactionsDir({
      'one-at-a-time.yaml': `
on: { webhook: burst, auth: { api_key: "\${secret.K}" } }
concurrency: 1
do:
  - script: { path: ${path.join(projectRoot, 'test/fixtures/reactions/interval.mjs')}, env: { OUT_FILE: ${out} } }
`,
    });
    const h = await start(dir, { K: apiKey });
    try {
      const responses = await Promise.all(
        [1, 2, 3].map((n) => fetch(`${h.base}/triggers/burst`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: JSON.stringify({ n }) })),
      );
      expect(responses.map((r) => r.status)).toEqual([202, 202, 202]);
      await until(() => (readFileSync(out, { encoding: 'utf8', flag: 'a+' }).match(/\n/g) ?? []).length === 3, 'three runs', 30_000);
      const runs = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number, number]).sort((a, b) => a[0] - b[0]);
      expect(runs.map((r) => r[2]).sort()).toEqual([1, 2, 3]);
      for (let i = 1; i < runs.length; i++) expect(runs[i]![0]).toBeGreaterThanOrEqual(runs[i - 1]![1]);
    } finally {
      await h.close();
    }
  }, 40_000);

  test('one failing reaction does not stop the others; its failure is recorded with the event', async () => {
    const dir = reactionsDir({
      'broken.yaml': `on: { event: release.created, where: { app: hello } }\ndo:\n  - script: ${path.join(projectRoot, 'test/fixtures/reactions/fail.sh')}\n`,
      'fine.yaml': `on: { event: release.created, where: { app: hello } }\ndo:\n  - chat: { channel: "#rel", text: "{{ release.version }} released" }\n`,
    });
    const h = await start(dir, {});
    try {
      await h.deckhand.actions.createRelease({ id: 'alice' }, { app: 'hello', version: '4.0.0' });
      await until(() => h.chat.length === 1, 'the working reaction');
      expect(h.chat[0]?.text).toBe('4.0.0 released');
      await until(async () => (await h.store.listJobs({ type: 'reaction' })).some((j) => j.lastError !== null), 'the failure to be recorded');
      const broken = (await h.store.listJobs({ type: 'reaction' })).find((j) => j.lastError);
      expect(broken?.lastError).toMatch(/script .*fail\.sh exited with 3: this reaction is broken on purpose/);
      expect(broken?.payload).toMatchObject({ reaction: 'broken', context: { event: { type: 'release.created' }, release: { version: '4.0.0' } } });
    } finally {
      await h.close();
    }
  });
});
