import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createDeckhand, projectRoot, type Deckhand } from '../../src/app.js';
import type { ChatPort } from '../../src/chat/chat-port.js';
import { parseConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github/fake-github.js';
import { startInProcess, until } from '../fixtures/in-process.js';
import { testConfig } from '../fixtures/config.js';
import { startFakeSlack } from '../fakes/slack/fake-slack.js';
import { postToBolt, urlVerificationRequest } from '../fakes/slack/signed-request.js';
import { startSlackAdapter } from '../../adapters/slack/slack-adapter.js';
import { systemClock } from '../../src/core/clock.js';
import { parseMetrics, sample, type Sample } from '../unit/metrics/parse-metrics.js';

/*
 * GET /metrics on the real app (in-process, real HTTP, the fake GitHub): what is counted after real
 * deliveries, deployments, jobs and GitHub calls, with which labels; the bearer token.
 */

const metricsToken = 'metrics-token-0123456789abcdef';
const apiKey = 'trigger-key-0123456789abcdef';
const webhookSecret = 'github-webhook-secret-metrics';
const mainSha = '5e8f1c2d3b4a69788796a5b4c3d2e1f009182736';

const config = () =>
  parseConfig(
    `
environments:
  staging: {}
  production: { protected: true }
apps:
  api:
    repository: acme/api
    provider: { script: scripts/hello-deploy.sh }
    environments: [staging, production]
  hello:
    provider: { script: scripts/hello-deploy.sh }
    environments: [staging, production]
roles:
  ops: { members: [bob], may: ["deploy:*", "release:*"] }
`,
    path.join(projectRoot, 'deckhand.metrics-test.yaml'),
    {},
  );

function reactionsDir(refusingUrl: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-metrics-reactions-'));
  const dir = path.join(root, 'reactions');
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'build.yaml'),
    `
name: build-hook
on:
  webhook: build
  auth: { api_key: "\${secret.BUILD_KEY}" }
do:
  - chat: { channel: "#builds", text: "build {{ payload.version }}" }
`,
  );
  writeFileSync(
    path.join(dir, 'refused.yaml'),
    `
name: refused-hook
on: { event: release.created, where: { app: hello } }
do:
  - http: { method: POST, url: "${refusingUrl}", json: { n: 1 }, attempts: 1 }
`,
  );
  return dir;
}

describe('GET /metrics', () => {
  let github: FakeGitHub;
  let deckhand: Deckhand;
  let store: SqliteStore;
  let base: string;
  let refusing: Server;
  const chat: Array<{ channel: string; text: string }> = [];

  beforeAll(async () => {
    github = await startFakeGitHub({ user: { login: 'deckhand[bot]', type: 'Bot' } });
    github.addRepo('acme', 'api', { defaultBranchSha: mainSha });
    store = new SqliteStore(':memory:');
    await store.migrate();
    // Answers every request 400: a reaction's http action fails for good (no retry).
    refusing = createServer((_request, response) => void response.writeHead(400).end('no'));
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const dir = reactionsDir(`http://127.0.0.1:${(refusing.address() as AddressInfo).port}/events`);
    deckhand = await createDeckhand({
      config: config(),
      store,
      logger: silentLogger,
      dataDir: mkdtempSync(path.join(os.tmpdir(), 'deckhand-data-')),
      commandsDir: path.join(projectRoot, 'commands'),
      reactions: loadReactions(dir, { BUILD_KEY: apiKey }).reactions,
      reactionsBaseDir: path.dirname(dir),
      jobPollMs: 20,
      github: { auth: { token: github.token }, apiUrl: github.url, webhookSecret },
      metricsToken,
      publicUrl: () => base,
    });
    const port: ChatPort = { post: async (channel, text) => void chat.push({ channel, text }), react: async () => undefined };
    deckhand.setChat(port);
    base = await deckhand.http.listen({ port: 0, host: '127.0.0.1' });
    deckhand.startBackground();
  });
  afterAll(async () => {
    await deckhand?.close();
    await github?.close();
    refusing?.close();
  });

  const scrape = async (): Promise<{ text: string; samples: Sample[] }> => {
    const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    return { text, samples: parseMetrics(text) };
  };
  const trigger = (body: unknown, headers: Record<string, string>) =>
    fetch(`${base}/triggers/build`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  test('the token: 401 without it or with another one, 200 with it; never cached; the Prometheus text format', async () => {
    const without = await fetch(`${base}/metrics`);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await without.text()).not.toContain('deckhand_');
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken.slice(0, -1)}x` } });
    expect(wrong.status).toBe(401);
    const basic = await fetch(`${base}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`x:${metricsToken}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    const right = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(right.status).toBe(200);
    expect(right.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(right.headers.get('cache-control')).toBe('no-store');
    const samples = parseMetrics(await right.text());
    // Process metrics from prom-client, on this instance's registry.
    expect(sample(samples, 'process_cpu_user_seconds_total', {})).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  test('deliveries by source and outcome: accepted, duplicate, refused with a reason; the action they run', async () => {
    const deliveryId = 'delivery-5f3a9c1e-metrics';
    expect((await trigger({ version: '1.0' }, { 'x-api-key': apiKey, 'x-delivery-id': deliveryId })).status).toBe(202);
    expect((await trigger({ version: '1.0' }, { 'x-api-key': apiKey, 'x-delivery-id': deliveryId })).status).toBe(200);
    expect((await trigger({ version: '1.0' }, { 'x-delivery-id': 'delivery-without-key' })).status).toBe(401);
    expect((await fetch(`${base}/triggers/no-such-trigger`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: '{}' })).status).toBe(404);
    const body = JSON.stringify({ zen: 'hi' });
    const signed = (signature: string) =>
      fetch(`${base}/webhooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': 'gh-delivery-77aa', 'x-hub-signature-256': signature }, body });
    expect((await signed('sha256=' + '0'.repeat(64))).status).toBe(401);
    expect((await signed(githubSignature(webhookSecret, Buffer.from(body)))).status).toBe(200);
    await until(() => chat.length === 1, 'the reaction to post');
    await deckhand.worker.idle();

    const { text, samples } = await scrape();
    const deliveries = (labels: Record<string, string>) => sample(samples, 'deckhand_webhook_deliveries_total', labels);
    expect(deliveries({ source: 'trigger', outcome: 'accepted', reason: 'none' })).toBe(1);
    expect(deliveries({ source: 'trigger', outcome: 'duplicate', reason: 'none' })).toBe(1);
    expect(deliveries({ source: 'trigger', outcome: 'refused', reason: 'unauthorized' })).toBe(1);
    expect(deliveries({ source: 'trigger', outcome: 'refused', reason: 'not_found' })).toBe(1);
    expect(deliveries({ source: 'github', outcome: 'refused', reason: 'unauthorized' })).toBe(1);
    expect(deliveries({ source: 'github', outcome: 'ignored', reason: 'ping' })).toBe(1);
    expect(sample(samples, 'deckhand_reaction_actions_total', { kind: 'chat', outcome: 'succeeded' })).toBe(1);
    // Latency by route template, never the raw path (the trigger's name, the unknown one).
    expect(sample(samples, 'deckhand_http_request_duration_seconds_count', { method: 'POST', route: '/triggers/:name', status_code: '202' })).toBe(1);
    expect(sample(samples, 'deckhand_http_request_duration_seconds_count', { method: 'POST', route: '/triggers/:name', status_code: '404' })).toBe(1);
    expect(text).not.toContain('no-such-trigger');
    expect(text).not.toContain('delivery-');
    expect(text).not.toContain('gh-delivery');
  });

  test('paths no route serves are "unmatched", whatever they are', async () => {
    expect((await fetch(`${base}/no/such/path-9f8e7d?token=abc`)).status).toBe(404);
    const { text, samples } = await scrape();
    expect(sample(samples, 'deckhand_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).not.toContain('path-9f8e7d');
  });

  test('deployments by app, environment and final state, with their duration; GitHub calls by route template and status, a 4xx too', async () => {
    const ref = 'v7.7.7-metrics-ref';
    github.setRef('acme', 'api', ref, 'b'.repeat(40));
    await deckhand.actions.deploy({ id: 'bob' }, { app: 'api', environment: 'staging', ref });
    await deckhand.runner.idle();
    // A ref GitHub does not know: it answers 422 and the deployment is refused.
    await expect(deckhand.actions.deploy({ id: 'bob' }, { app: 'api', environment: 'staging', ref: 'no-such-ref-metrics' })).rejects.toThrow();
    // A failed deployment of an app without a repository (the demo script fails refs starting with "fail").
    await deckhand.actions.deploy({ id: 'bob' }, { app: 'hello', environment: 'staging', ref: 'fail-metrics-ref' });
    await deckhand.runner.idle();
    await until(async () => (await store.listJobs({ state: 'pending' })).length === 0 && (await store.listJobs({ state: 'running' })).length === 0, 'the status jobs to finish');

    const { text, samples } = await scrape();
    const deployments = (labels: Record<string, string>) => sample(samples, 'deckhand_deployments_total', labels);
    expect(deployments({ app: 'api', environment: 'staging', state: 'succeeded' })).toBe(1);
    expect(deployments({ app: 'hello', environment: 'staging', state: 'failed' })).toBe(1);
    expect(sample(samples, 'deckhand_deployment_duration_seconds_count', { app: 'api', environment: 'staging', state: 'succeeded' })).toBe(1);
    expect(sample(samples, 'deckhand_deployment_duration_seconds_bucket', { app: 'api', environment: 'staging', state: 'succeeded', le: '+Inf' })).toBe(1);
    const calls = (method: string, status: string) => sample(samples, 'deckhand_api_requests_total', { service: 'github', method, status });
    expect(calls('POST /repos/{owner}/{repo}/deployments', '201')).toBe(1);
    expect(calls('POST /repos/{owner}/{repo}/deployments', '422')).toBe(1);
    // The fake GitHub saw as many of each as were counted.
    const seen = (method: string, pattern: RegExp, status: number) => github.calls.filter((c) => c.method === method && pattern.test(c.path) && c.status === status).length;
    expect(calls('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', '201')).toBe(seen('POST', /\/deployments\/\d+\/statuses$/, 201));
    expect(seen('POST', /\/deployments\/\d+\/statuses$/, 201)).toBeGreaterThan(0);
    // No ref, no repository name, no user in any label.
    expect(text).not.toContain('metrics-ref');
    expect(text).not.toContain('acme');
    expect(text).not.toContain('bob');
  });

  test('jobs: a job that fails its last attempt is counted dead, by type', async () => {
    const job = await store.enqueueJob({ type: 'reaction', payload: { reaction: 'not-loaded', context: {} }, runAt: new Date().toISOString(), maxAttempts: 1 });
    deckhand.worker.kick();
    await until(async () => (await store.getJob(job!.id))?.state === 'dead', 'the job to be dead');
    const { samples } = await scrape();
    expect(sample(samples, 'deckhand_jobs_dead_total', { type: 'reaction', reason: 'exhausted' })).toBe(1);
    expect(sample(samples, 'deckhand_jobs_retried_total', { type: 'reaction' })).toBeUndefined();
    // The queue, read from the store at the scrape: nothing waits now.
    expect(sample(samples, 'deckhand_job_queue_depth', { type: 'reaction', state: 'pending' })).toBe(0);
    expect(sample(samples, 'deckhand_job_queue_oldest_age_seconds', { type: 'delivery' })).toBe(0);
  });

  test('a reaction action that fails: counted by kind, and its job dead for good (a 4xx is permanent)', async () => {
    await deckhand.actions.createRelease({ id: 'bob' }, { app: 'hello', version: '4.5.6-metrics-ref' });
    await until(async () => (await store.listJobs({ state: 'dead' })).some((j) => (j.payload as { reaction?: string }).reaction === 'refused-hook'), 'the reaction job to be dead');
    const { samples } = await scrape();
    expect(sample(samples, 'deckhand_reaction_actions_total', { kind: 'http', outcome: 'failed' })).toBe(1);
    expect(sample(samples, 'deckhand_reaction_actions_total', { kind: 'http', outcome: 'succeeded' })).toBeUndefined();
    expect(sample(samples, 'deckhand_jobs_dead_total', { type: 'reaction', reason: 'permanent' })).toBe(1);
  });

  test('every line of the exposition is well-formed, and every label value is from a bounded set', async () => {
    const { text, samples } = await scrape();
    // prom-client writes NaN as "Nan" (an idle event-loop monitor); Prometheus reads it in any case.
    for (const line of text.split('\n').filter(Boolean)) {
      expect(line).toMatch(/^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|NaN|Nan|\+Inf|-Inf))$/);
    }
    // After everything above: no delivery id, ref, version, repository or user anywhere in the text.
    expect(text).not.toMatch(/delivery-|gh-delivery|metrics-ref|no-such|acme|bob|C0GENERAL/);
    const deckhandLabels = samples.filter((s) => s.name.startsWith('deckhand_')).flatMap((s) => Object.entries(s.labels));
    const allowed: Record<string, RegExp> = {
      source: /^(github|octopus|victorops|trigger)$/,
      outcome: /^(accepted|duplicate|refused|ignored|failed|succeeded)$/,
      reason: /^(none|ping|unauthorized|bad_request|not_found|too_large|unsupported_type|rate_limited|unavailable|client_error|server_error|exhausted|permanent)$/,
      app: /^(api|hello|other)$/,
      environment: /^(staging|production|other)$/,
      state: /^(succeeded|failed|cancelled|pending|running)$/,
      type: /^(delivery|reaction|tick|github|github-status|octopus|victorops|other)$/,
      kind: /^(http|chat|deploy|create_release|script|other)$/,
      service: /^(slack|github|octopus)$/,
      method: /^([A-Z]+ \/[\w/{}.-]*|GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|other)$/,
      status: /^\d{1,3}$/,
      status_code: /^\d{3}$/,
      route: /^(unmatched|\/[\w/:.-]*)$/,
      le: /^([\d.]+|\+Inf)$/,
    };
    for (const [name, value] of deckhandLabels) {
      expect(allowed[name]).toBeDefined();
      expect(`${name}=${value}`).toMatch(new RegExp(`^${name}=${allowed[name]!.source.slice(1)}`));
    }
  });
});

describe('Slack API calls, counted through the adapter', () => {
  test('by Web API method and status: auth.test at start, a 429 and the retry that got through', async () => {
    const slack = await startFakeSlack();
    slack.addChannel('C0GENERAL', { name: 'general' });
    const config = testConfig();
    const h = await startInProcess({ config, listen: false });
    const adapter = await startSlackAdapter({
      botToken: slack.workspace.botToken,
      signingSecret: 'test-signing-secret-0123456789',
      apiUrl: slack.apiUrl,
      slashCommand: '/deckhand',
      http: h.deckhand.http,
      dispatcher: h.deckhand.dispatcher,
      actions: h.deckhand.actions,
      bus: h.deckhand.bus,
      store: h.store,
      config,
      logger: silentLogger,
      clock: systemClock,
      channelIntervalMs: 20,
      metrics: h.deckhand.metrics,
    });
    try {
      slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
      await adapter.chat.post('C0GENERAL', 'counted');
      await until(() => slack.callsTo('chat.postMessage').some((c) => c.response?.status === 200), 'the retried message to be posted');
      const samples = parseMetrics((await h.deckhand.metrics.text()).body);
      const calls = (method: string, status: string) => sample(samples, 'deckhand_api_requests_total', { service: 'slack', method, status });
      // Bolt's own start-up calls auth.test too: as many as the fake Slack answered.
      expect(calls('auth.test', '200')).toBe(slack.callsTo('auth.test').filter((c) => c.response?.status === 200).length);
      expect(calls('auth.test', '200')).toBeGreaterThan(0);
      expect(calls('chat.postMessage', '429')).toBe(1);
      expect(calls('chat.postMessage', '200')).toBe(1);
      // Slack's HTTP mode takes /slack/events before Fastify routes it: still its own route label.
      const events = `${await h.deckhand.http.listen({ port: 0, host: '127.0.0.1' })}/slack/events`;
      expect((await postToBolt(events, 'test-signing-secret-0123456789', urlVerificationRequest())).status).toBe(200);
      // Counted when the response has finished on the server's side, which the client may see first.
      const slackEvents = async () => sample(parseMetrics((await h.deckhand.metrics.text()).body), 'deckhand_http_request_duration_seconds_count', { method: 'POST', route: '/slack/events', status_code: '200' });
      await until(async () => (await slackEvents()) !== undefined, 'the request to be counted');
      expect(await slackEvents()).toBe(1);
    } finally {
      await adapter.stop();
      await h.close();
      await slack.close();
    }
  });
});
