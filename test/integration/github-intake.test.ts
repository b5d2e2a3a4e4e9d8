import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Octokit } from '@octokit/rest';
import { projectRoot } from '../../src/app.js';
import type { DeliverySummary } from '../../src/core/model.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github/fake-github.js';
import { webhookExample } from '../fakes/github/webhook-examples.js';
import { until } from '../fixtures/in-process.js';
import { mainJs, startBot, type BotProcess } from './bot-process.js';

/**
 * GitHub deliveries at intake, on the real bot process: an event nothing acts on (most of what a
 * repository's webhook sends) is stored, listed and replayable, but its job is done at intake —
 * no worker runs it, no attempt is counted. What Deckhand does act on (a pull request merged into
 * an auto_deploy branch, a deployment) still runs.
 */

const secret = 'github-intake-secret-0123';
const mergeSha = 'c4295bd74fb0f4fda03689c3df3f2803b658fd85';

const config = `environments:
  staging: {}
apps:
  api:
    repository: acme/api
    provider: { script: ${path.join(projectRoot, 'scripts/hello-deploy.sh')} }
    environments: [staging]
    notify: "#deploys"
    auto_deploy: [{ branch: main, environment: staging }]
  worker:
    repository: acme/worker
    provider: { script: ${path.join(projectRoot, 'scripts/hello-deploy.sh')} }
    environments: [staging]
    notify: "#deploys"
    github: { run_deployments: true }
roles:
  github-staging: { members: ["github:*"], may: ["deploy:staging"] }
  ops: { members: [], may: ["read:*", "operate:*"] }
`;

type PullRequestEvent = { action: string; repository: { full_name: string }; pull_request: { merged: boolean; merge_commit_sha: string; base: { ref: string } } };
type DeploymentEvent = { repository: { full_name: string }; deployment: Record<string, unknown> };
type IssuesEvent = { repository: { full_name: string } };

describe('GitHub deliveries nothing acts on get no job run; the rest run as before', () => {
  let github: FakeGitHub;
  let bot: BotProcess;
  let cwd: string;
  let token: string;
  let n = 0;

  beforeAll(async () => {
    github = await startFakeGitHub();
    github.addRepo('acme', 'api');
    github.addCommit('acme', 'api', mergeSha);
    github.addRepo('acme', 'other');
    github.addRepo('acme', 'worker');
    github.addCommit('acme', 'worker', mergeSha);
    github.addUser('ghp_alice', 'alice-gh');
    cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-github-intake-'));
    writeFileSync(path.join(cwd, 'deckhand.yaml'), config);
    mkdirSync(path.join(cwd, 'reactions'));
    const env = {
      DECKHAND_CONFIG: path.join(cwd, 'deckhand.yaml'),
      DECKHAND_REACTIONS: path.join(cwd, 'reactions'),
      GITHUB_TOKEN: github.token,
      GITHUB_API_URL: github.url,
      GITHUB_WEBHOOK_SECRET: secret,
      // The intake's and the handler's lines are at info.
      LOG_LEVEL: 'info',
    };
    bot = await startBot({ cwd, env });
    await bot.waitFor('Deckhand on the terminal');
    // An operator token for /api/v1, made by the CLI on the bot's store.
    const created = spawnSync(process.execPath, [mainJs, 'token', 'create', '--name', 'ops', '--role', 'ops'], { cwd, env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env }, encoding: 'utf8', timeout: 20_000 });
    expect([created.status, created.stderr]).toEqual([0, '']);
    token = /^ {2}(dho_\S+)$/m.exec(created.stdout)?.[1] ?? '';
    expect(token).toMatch(/^dho_/);
  }, 60_000);
  afterAll(async () => {
    if (bot && bot.child.exitCode === null && bot.child.signalCode === null) {
      bot.child.stdin.end();
      await bot.exited;
    }
    await github?.close();
  });
  afterEach(() => expect(github.schemaViolations).toEqual([]));

  const deliver = async (event: string, payload: unknown): Promise<{ status: number; id: string }> => {
    const body = JSON.stringify(payload);
    const id = `intake-${++n}`;
    const response = await fetch(`http://127.0.0.1:${bot.port}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': id, 'x-hub-signature-256': githubSignature(secret, body) },
      body,
    });
    expect(await response.json()).toEqual({ status: 'accepted', delivery: id });
    return { status: response.status, id };
  };

  const api = async <T>(method: string, url: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`http://127.0.0.1:${bot.port}/api/v1${url}`, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as T };
  };

  /** The delivery as the operator's REST API lists it. */
  const listed = async (deliveryId: string): Promise<DeliverySummary> => {
    const { status, body } = await api<{ deliveries: DeliverySummary[] }>('GET', '/deliveries?source=github&limit=500');
    expect(status).toBe(200);
    const found = body.deliveries.find((d) => d.deliveryId === deliveryId);
    if (!found) throw new Error(`delivery ${deliveryId} is not listed: ${JSON.stringify(body.deliveries.map((d) => d.deliveryId))}`);
    return found;
  };

  /** The bot's log lines (JSON, one per line) with this message. */
  const logLines = (msg: string) =>
    (bot.stdout() + bot.stderr())
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes(msg))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  const pullRequest = (action: string, patch: { merged?: boolean; base?: string; repo?: string }) => {
    const event = webhookExample<PullRequestEvent>('pull_request', action);
    event.pull_request.merged = patch.merged ?? false;
    event.pull_request.merge_commit_sha = mergeSha;
    event.pull_request.base.ref = patch.base ?? 'main';
    event.repository.full_name = `acme/${patch.repo ?? 'api'}`;
    return event;
  };

  let ignoredIssue = '';

  test('a pull request opened, one merged into a branch or repository nothing auto-deploys from, an issue: 202, stored, listed, done at intake with no attempt, nothing sent to GitHub', async () => {
    const callsBefore = github.calls.length;
    const issue = webhookExample<IssuesEvent>('issues', 'opened');
    issue.repository.full_name = 'acme/api';
    const sent = [
      await deliver('pull_request', pullRequest('opened', { merged: false })),
      await deliver('pull_request', pullRequest('closed', { merged: false })),
      await deliver('pull_request', pullRequest('closed', { merged: true, base: 'develop' })),
      await deliver('pull_request', pullRequest('closed', { merged: true, repo: 'other' })),
      await deliver('issues', issue),
    ];
    expect(sent.map((s) => s.status)).toEqual([202, 202, 202, 202, 202]);
    ignoredIssue = sent[4]!.id;

    for (const { id } of sent) {
      // Answered only after it was stored: listed at once, its job already done — never claimed.
      const summary = await listed(id);
      expect(summary).toMatchObject({ source: 'github', outcome: 'ignored', jobs: 1, job: { type: 'github', state: 'done', attempts: 0, lastError: null } });
      expect(summary.job?.finishedAt).toBe(summary.receivedAt);
      const { body: detail } = await api<{ headers: Record<string, string>; body: unknown }>('GET', `/deliveries/${summary.id}`);
      expect(detail.headers['x-github-event']).toBe(id === ignoredIssue ? 'issues' : 'pull_request');
    }
    // The REST API filters them as ignored, and not as done.
    const byOutcome = async (outcome: string) => (await api<{ deliveries: DeliverySummary[] }>('GET', `/deliveries?source=github&outcome=${outcome}&limit=500`)).body.deliveries.map((d) => d.deliveryId);
    expect(new Set(await byOutcome('ignored'))).toEqual(new Set(sent.map((s) => s.id)));
    expect((await byOutcome('done')).filter((id) => sent.some((s) => s.id === id))).toEqual([]);
    // The log reaches this process through a pipe: wait for the lines rather than assume them there.
    const acceptedLines = () => logLines('github webhook accepted').filter((l) => sent.some((s) => s.id === l.deliveryId));
    await until(() => acceptedLines().length === 5, 'the intake log lines');
    const accepted = acceptedLines();
    for (const line of accepted) expect(line).toMatchObject({ duplicate: false, ignored: 'Deckhand does not act on it' });
    // GitHub's redelivery of one of them is a duplicate: 200, and still the one job, done at intake.
    const again = JSON.stringify(issue);
    const redelivered = await fetch(`http://127.0.0.1:${bot.port}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': ignoredIssue, 'x-hub-signature-256': githubSignature(secret, again) },
      body: again,
    });
    expect([redelivered.status, await redelivered.json()]).toEqual([200, { status: 'duplicate', delivery: ignoredIssue }]);
    expect(await listed(ignoredIssue)).toMatchObject({ jobs: 1, job: { state: 'done', attempts: 0 } });
    // No worker ran them: the handler's own "ignored" line is never logged for them.
    expect(logLines('github event ignored')).toEqual([]);
    expect(github.calls.slice(callsBefore)).toEqual([]);
  }, 30_000);

  test('a signed "merged pull request" whose fields have the wrong types is stored and answered 202 (not a 500): it is not a merge Deckhand acts on', async () => {
    const callsBefore = github.calls.length;
    const odd = pullRequest('closed', { merged: true }) as unknown as { repository: Record<string, unknown>; pull_request: Record<string, unknown> };
    odd.repository.full_name = 123;
    const { status, id } = await deliver('pull_request', odd);
    expect(status).toBe(202);
    expect(await listed(id)).toMatchObject({ outcome: 'ignored', job: { attempts: 0 } });
    const base = pullRequest('closed', { merged: true }) as unknown as { pull_request: Record<string, unknown> };
    base.pull_request.base = { ref: ['main'] };
    const second = await deliver('pull_request', base);
    expect(second.status).toBe(202);
    expect(await listed(second.id)).toMatchObject({ outcome: 'ignored', job: { attempts: 0 } });
    expect(github.calls.slice(callsBefore)).toEqual([]);
  }, 30_000);

  test('a pull request merged into an auto_deploy branch still runs: the GitHub deployment is created', async () => {
    const { status, id } = await deliver('pull_request', pullRequest('closed', { merged: true }));
    expect(status).toBe(202);
    const call = await github.waitForCall('POST', /\/repos\/acme\/api\/deployments$/, undefined, 15_000);
    expect(call.status).toBe(201);
    expect(call.body).toMatchObject({ ref: mergeSha, environment: 'staging', payload: { deckhand: { app: 'api' } } });
    await until(async () => (await listed(id)).outcome === 'done', 'the merged pull request job to finish');
    expect(await listed(id)).toMatchObject({ jobs: 1, job: { state: 'done', attempts: 1 } });
    await until(() => logLines('github webhook accepted').some((l) => l.deliveryId === id), 'the intake log line');
    expect(logLines('github webhook accepted').find((l) => l.deliveryId === id)).not.toHaveProperty('ignored');
  }, 30_000);

  test('a deployment event still runs (here another user\'s deployment of an app with run_deployments): statuses queued → in_progress → success; a deployment_status event runs too', async () => {
    const alice = new Octokit({ auth: 'ghp_alice', baseUrl: github.url, log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
    const created = await alice.rest.repos.createDeployment({ owner: 'acme', repo: 'worker', ref: mergeSha, environment: 'staging', required_contexts: [], auto_merge: false, payload: {} });
    if (!('id' in created.data)) throw new Error('expected a deployment');
    const deploymentId = created.data.id;
    const event = webhookExample<DeploymentEvent>('deployment');
    event.repository.full_name = 'acme/worker';
    Object.assign(event.deployment, { id: deploymentId, sha: mergeSha, ref: mergeSha, environment: 'staging', task: 'deploy', payload: {}, creator: { ...(event.deployment.creator as object), login: 'alice-gh' } });
    const { status, id } = await deliver('deployment', event);
    expect(status).toBe(202);
    await until(() => github.statuses('acme', 'worker', deploymentId).some((s) => s.state === 'success'), 'the success status', 30_000);
    expect(github.statuses('acme', 'worker', deploymentId).map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
    await until(async () => (await listed(id)).outcome === 'done', 'the deployment job to finish');
    expect((await listed(id)).job).toMatchObject({ state: 'done', attempts: 1 });

    // A status event is acted on (mirrored when it is another tool's deployment): its job runs.
    const statusEvent = webhookExample<DeploymentEvent>('deployment_status');
    statusEvent.repository.full_name = 'acme/api';
    const sentStatus = await deliver('deployment_status', statusEvent);
    expect(sentStatus.status).toBe(202);
    await until(async () => (await listed(sentStatus.id)).outcome === 'done', 'the deployment_status job to finish');
    expect((await listed(sentStatus.id)).job).toMatchObject({ state: 'done', attempts: 1 });
  }, 45_000);

  test('replaying an ignored delivery queues a new job, which a worker runs and finishes', async () => {
    const before = await listed(ignoredIssue);
    const replay = await api<{ job: { id: number; type: string; state: string } }>('POST', `/deliveries/${before.id}/replay`);
    expect(replay.status).toBe(202);
    expect(replay.body.job).toMatchObject({ type: 'github', state: 'pending' });
    expect(replay.body.job.id).not.toBe(before.job?.id);
    await until(async () => (await listed(ignoredIssue)).outcome === 'done', 'the replay to finish');
    expect(await listed(ignoredIssue)).toMatchObject({ jobs: 2, job: { id: replay.body.job.id, type: 'github', state: 'done', attempts: 1, lastError: null } });
    // This time the handler ran (and found nothing to do for an issue).
    await until(() => logLines('github event ignored').some((l) => l.githubDelivery === ignoredIssue), 'the handler to log the replayed issue');
  }, 30_000);
});
