import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient, type FetchFunction } from '@slack/web-api';
import { countingFetch } from '../../../adapters/slack/counting-fetch.js';
import { systemClock } from '../../../src/core/clock.js';
import { DeckhandError, ErrorCode } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { JobWorker } from '../../../src/jobs/job-worker.js';
import { githubRoute, octopusRoute, slackMethod } from '../../../src/metrics/labels.js';
import { deliveryOutcome } from '../../../src/metrics/http.js';
import { DeckhandMetrics } from '../../../src/metrics/metrics.js';
import { OctopusClient } from '../../../src/providers/octopus/octopus-client.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { startFakeOctopus } from '../../fakes/octopus/fake-octopus.js';
import { parseMetrics, sample } from './parse-metrics.js';

const at = (minutes: number) => new Date(Date.UTC(2025, 0, 1, 12, minutes));
const metricsFor = (now = at(10)) => new DeckhandMetrics({ apps: ['api'], environments: ['staging'], jobTypes: ['delivery', 'reaction'], now: () => now, processMetrics: false });
const scrape = async (m: DeckhandMetrics) => parseMetrics((await m.text()).body);

describe('the job queue gauges: read from the store at each scrape', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(async () => store.close());

  test('depth by type and state, the oldest due job\'s age; known types at 0; unknown types as "other"', async () => {
    const m = metricsFor(at(10));
    m.watchJobs((now) => store.jobStats(now));
    await store.enqueueJob({ type: 'reaction', payload: {}, runAt: at(4).toISOString() });
    await store.enqueueJob({ type: 'reaction', payload: {}, runAt: at(7).toISOString() });
    await store.enqueueJob({ type: 'reaction', payload: {}, runAt: at(30).toISOString() }); // a retry waiting: pending, not due
    await store.enqueueJob({ type: 'made-up', payload: {}, runAt: at(9).toISOString() });
    await store.claimJob('w', at(10).toISOString(), 600_000); // the oldest reaction job runs
    const samples = await scrape(m);
    expect(sample(samples, 'deckhand_job_queue_depth', { type: 'reaction', state: 'pending' })).toBe(2);
    expect(sample(samples, 'deckhand_job_queue_depth', { type: 'reaction', state: 'running' })).toBe(1);
    expect(sample(samples, 'deckhand_job_queue_oldest_age_seconds', { type: 'reaction' })).toBe(180);
    expect(sample(samples, 'deckhand_job_queue_depth', { type: 'delivery', state: 'pending' })).toBe(0);
    expect(sample(samples, 'deckhand_job_queue_oldest_age_seconds', { type: 'delivery' })).toBe(0);
    expect(sample(samples, 'deckhand_job_queue_depth', { type: 'other', state: 'pending' })).toBe(1);
    expect(sample(samples, 'deckhand_job_queue_oldest_age_seconds', { type: 'other' })).toBe(60);
    expect(samples.some((s) => s.labels.type === 'made-up')).toBe(false);
  });

  test('a store that does not answer: the scrape still works, the failure is counted', async () => {
    const m = metricsFor();
    m.watchJobs(async () => {
      throw new Error('connection refused');
    });
    const samples = await scrape(m);
    expect(sample(samples, 'deckhand_metrics_store_errors_total', {})).toBe(1);
  });

  test('two instances never share a counter (a registry each)', async () => {
    const a = metricsFor();
    const b = metricsFor();
    a.onApiRequest('github', 'GET /repos/{owner}/{repo}', 200);
    expect(sample(await scrape(a), 'deckhand_api_requests_total', { service: 'github', method: 'GET /repos/{owner}/{repo}', status: '200' })).toBe(1);
    expect(sample(await scrape(b), 'deckhand_api_requests_total', { service: 'github', method: 'GET /repos/{owner}/{repo}', status: '200' })).toBeUndefined();
  });
});

describe('deployments from the event bus', () => {
  const deployment = (app: string, environment: string, startedAt: string | null) =>
    ({ id: 1, app, environment, ref: 'v1', state: 'succeeded', startedAt, finishedAt: at(3).toISOString() }) as never;

  test('final states by app, environment and state; the duration of those that started; names outside the config are "other"', async () => {
    const m = metricsFor();
    m.onEvent({ id: 1, type: 'deployment.succeeded', at: at(3).toISOString(), source: 'deckhand', data: { deployment: deployment('api', 'staging', at(1).toISOString()) } });
    m.onEvent({ id: 2, type: 'deployment.cancelled', at: at(3).toISOString(), source: 'deckhand', data: { deployment: deployment('api', 'staging', null) } });
    m.onEvent({ id: 3, type: 'deployment.failed', at: at(3).toISOString(), source: 'github', data: { deployment: deployment('someone-elses', 'qa-42', at(2).toISOString()) } });
    m.onEvent({ id: 4, type: 'deployment.started', at: at(3).toISOString(), source: 'deckhand', data: { deployment: deployment('api', 'staging', at(1).toISOString()) } });
    const samples = await scrape(m);
    expect(sample(samples, 'deckhand_deployments_total', { app: 'api', environment: 'staging', state: 'succeeded' })).toBe(1);
    expect(sample(samples, 'deckhand_deployments_total', { app: 'api', environment: 'staging', state: 'cancelled' })).toBe(1);
    expect(sample(samples, 'deckhand_deployments_total', { app: 'other', environment: 'other', state: 'failed' })).toBe(1);
    expect(sample(samples, 'deckhand_deployment_duration_seconds_sum', { app: 'api', environment: 'staging', state: 'succeeded' })).toBe(120);
    expect(sample(samples, 'deckhand_deployment_duration_seconds_bucket', { app: 'api', environment: 'staging', state: 'succeeded', le: '60' })).toBe(0);
    expect(sample(samples, 'deckhand_deployment_duration_seconds_bucket', { app: 'api', environment: 'staging', state: 'succeeded', le: '120' })).toBe(1);
    // Never started: counted, no duration.
    expect(sample(samples, 'deckhand_deployment_duration_seconds_count', { app: 'api', environment: 'staging', state: 'cancelled' })).toBeUndefined();
    expect(samples.filter((s) => s.name === 'deckhand_deployments_total')).toHaveLength(3);
  });
});

describe('the job worker tells of retries and dead letters', () => {
  let store: SqliteStore;
  let worker: JobWorker;
  const told: Array<[string, string, boolean]> = [];
  let fail: () => never;
  beforeEach(async () => {
    told.length = 0;
    store = new SqliteStore(':memory:');
    await store.migrate();
    worker = new JobWorker({
      store,
      clock: systemClock,
      logger: silentLogger,
      handlers: { reaction: async () => fail() },
      pollMs: 5,
      retryBaseMs: 1,
      retryMaxMs: 1,
      onFailed: (type, outcome, permanent) => void told.push([type, outcome, permanent]),
    });
    worker.start();
  });
  afterEach(async () => {
    await worker.stop();
    await store.close();
  });
  const dead = async (maxAttempts: number) => {
    const job = await store.enqueueJob({ type: 'reaction', payload: {}, runAt: new Date().toISOString(), maxAttempts });
    worker.kick();
    while ((await store.getJob(job!.id))?.state !== 'dead') await new Promise((r) => setTimeout(r, 5));
  };

  test('a transient failure: retried until its attempts run out, then dead', async () => {
    fail = () => {
      throw new Error('socket hang up');
    };
    await dead(3);
    expect(told).toEqual([
      ['reaction', 'retry', false],
      ['reaction', 'retry', false],
      ['reaction', 'dead', false],
    ]);
    const m = metricsFor();
    for (const [type, outcome, permanent] of told) m.onJobFailed(type, outcome as 'retry' | 'dead', permanent);
    const samples = await scrape(m);
    expect(sample(samples, 'deckhand_jobs_retried_total', { type: 'reaction' })).toBe(2);
    expect(sample(samples, 'deckhand_jobs_dead_total', { type: 'reaction', reason: 'exhausted' })).toBe(1);
  });

  test('a permanent failure: dead at once, said so', async () => {
    fail = () => {
      throw new DeckhandError(ErrorCode.Usage, 'bad input');
    };
    await dead(5);
    expect(told).toEqual([['reaction', 'dead', true]]);
  });
});

describe('API calls: Slack (through the WebClient\'s fetch), Octopus (its client)', () => {
  test('Slack: each HTTP request by Web API method and status, a 429 included', async () => {
    const answers = [429, 200];
    const server = createServer((_request, response) => {
      const status = answers.shift() ?? 200;
      response.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '1' } : {}) }).end(JSON.stringify({ ok: true, ts: '1.2' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const m = metricsFor();
    try {
      const fetch = countingFetch((method, status) => m.onApiRequest('slack', method, status));
      const client = new WebClient('xoxb-test', { slackApiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`, fetch, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
      await expect(client.chat.postMessage({ channel: 'C1', text: 'hi' })).rejects.toThrow(/rate/i);
      await client.chat.postMessage({ channel: 'C1', text: 'hi' });
    } finally {
      server.close();
    }
    const samples = await scrape(m);
    expect(sample(samples, 'deckhand_api_requests_total', { service: 'slack', method: 'chat.postMessage', status: '429' })).toBe(1);
    expect(sample(samples, 'deckhand_api_requests_total', { service: 'slack', method: 'chat.postMessage', status: '200' })).toBe(1);
  });

  test('Slack: no answer is status 0', async () => {
    const seen: Array<[string, number]> = [];
    const refused: FetchFunction = async () => {
      throw new TypeError('fetch failed');
    };
    await expect(countingFetch((method, status) => void seen.push([method, status]), refused)('https://slack.com/api/reactions.add', {})).rejects.toThrow('fetch failed');
    expect(seen).toEqual([['reactions.add', 0]]);
  });

  test('Octopus: by path template and status, a 401 and a 404 included', async () => {
    const octopus = await startFakeOctopus();
    const seen: Array<[string, number]> = [];
    try {
      const client = new OctopusClient({ url: octopus.url, apiKey: octopus.apiKey, defaultSpace: 'Spaces-1', onRequest: (route, status) => void seen.push([route, status]) });
      await client.project('Spaces-1', 'Projects-1');
      expect(await client.releaseByVersion('Spaces-1', 'Projects-1', '9.9.9-nope')).toBeNull();
      const wrongKey = new OctopusClient({ url: octopus.url, apiKey: 'API-WRONG', defaultSpace: 'Spaces-1', onRequest: (route, status) => void seen.push([route, status]) });
      await expect(wrongKey.get('/api/spaces/all')).rejects.toThrow(/401/);
    } finally {
      await octopus.close();
    }
    expect(seen).toEqual([
      ['GET /api/{id}/projects/{id}', 200],
      ['GET /api/{id}/projects/{id}/releases/{id}', 404],
      ['GET /api/spaces/all', 401],
    ]);
  });
});

describe('label values', () => {
  test('Slack methods from the URL; anything else is "other"', () => {
    expect(slackMethod('https://slack.com/api/chat.postMessage')).toBe('chat.postMessage');
    expect(slackMethod('http://127.0.0.1:3000/api/apps.connections.open')).toBe('apps.connections.open');
    expect(slackMethod('https://files.slack.com/upload/v1/ABC123')).toBe('other');
    expect(slackMethod('not a url')).toBe('other');
  });

  test('GitHub routes: the template Octokit passes; literal ids and hashes are reduced', () => {
    expect(githubRoute('post', '/repos/{owner}/{repo}/deployments')).toBe('POST /repos/{owner}/{repo}/deployments');
    expect(githubRoute('GET', 'https://api.github.com/repositories/123/deployments?page=2')).toBe('GET /repositories/{id}/deployments');
    expect(githubRoute('GET', `/repos/{owner}/{repo}/commits/${'a'.repeat(40)}`)).toBe('GET /repos/{owner}/{repo}/commits/{sha}');
    expect(githubRoute('GET', '/search?q="x y"')).toBe('GET /search');
    expect(githubRoute('GET', '/repos/a/b/contents/ä"weird')).toBe('other');
  });

  test('Octopus routes: every segment that is not an API word becomes {id}', () => {
    expect(octopusRoute('GET', '/api/Spaces-1/projects/core-web/releases/1.4.0-beta%2B7')).toBe('GET /api/{id}/projects/{id}/releases/{id}');
    expect(octopusRoute('POST', '/api/tasks/ServerTasks-42/cancel')).toBe('POST /api/tasks/{id}/cancel');
    expect(octopusRoute('GET', '/api/Spaces-1/environments/all?x=1')).toBe('GET /api/{id}/environments/all');
  });

  test('deliveries: how a route\'s answer reads', () => {
    const headers = { headers: {} };
    expect(deliveryOutcome(202, headers, 'trigger')).toEqual({ outcome: 'accepted', reason: 'none' });
    expect(deliveryOutcome(200, headers, 'octopus')).toEqual({ outcome: 'duplicate', reason: 'none' });
    expect(deliveryOutcome(200, { headers: { 'x-github-event': 'ping' } }, 'github')).toEqual({ outcome: 'ignored', reason: 'ping' });
    expect(deliveryOutcome(413, headers, 'github')).toEqual({ outcome: 'refused', reason: 'too_large' });
    expect(deliveryOutcome(415, headers, 'victorops')).toEqual({ outcome: 'refused', reason: 'unsupported_type' });
    expect(deliveryOutcome(400, headers, 'trigger')).toEqual({ outcome: 'refused', reason: 'bad_request' });
    expect(deliveryOutcome(503, headers, 'trigger')).toEqual({ outcome: 'refused', reason: 'unavailable' });
    expect(deliveryOutcome(500, headers, 'trigger')).toEqual({ outcome: 'failed', reason: 'server_error' });
  });
});

describe('reaction step re-runs', () => {
  test('counted by kind and by how the earlier attempt ended; unknown kinds as "other"', async () => {
    const m = metricsFor();
    m.onStepRerun('script', 'interrupted');
    m.onStepRerun('script', 'interrupted');
    m.onStepRerun('http', 'failed');
    m.onStepRerun('teleport', 'failed');
    const samples = await scrape(m);
    expect(sample(samples, 'deckhand_reaction_step_reruns_total', { kind: 'script', previous: 'interrupted' })).toBe(2);
    expect(sample(samples, 'deckhand_reaction_step_reruns_total', { kind: 'http', previous: 'failed' })).toBe(1);
    expect(sample(samples, 'deckhand_reaction_step_reruns_total', { kind: 'other', previous: 'failed' })).toBe(1);
  });
});
