import path from 'node:path';
import { Octokit } from '@octokit/rest';
import { projectRoot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import type { ChatMessage } from '../../src/router/types.js';
import type { Deployment } from '../../src/core/model.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github/fake-github.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';
import { webhookExample } from '../fakes/github/webhook-examples.js';

/*
 * GitHub deployments that reach Deckhand as `deployment` webhooks, sent by the fake GitHub itself
 * when someone creates one through its API: Deckhand (token of deckhand[bot]), a GitHub Actions
 * workflow, or people with write access to the repository.
 *
 * - acme/api: the default mode. Deployments other tools create are mirrored, never run; Deckhand's
 *   own auto_deploy deployments (merged pull requests) run, requested by whoever merged.
 * - acme/ops: `github: { run_deployments: true }`. Anyone's GitHub deployment runs as
 *   github:<login>, with that user's roles, locks and approvals; refusals become failure statuses.
 * - acme/web: run_deployments, but only deployable from the #web room.
 */

const example = webhookExample;

const secret = 'github-webhook-secret-789';
const mainSha = '5e8f1c2d3b4a69788796a5b4c3d2e1f009182736';
const mergeSha = '9a8b7c6d5e4f30211203f4e5d6c7b8a9a0b1c2d3';
const bot = 'deckhand[bot]';

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
    notify: "#deploys"
    auto_deploy: [{ branch: main, environment: staging }]
  ops:
    repository: acme/ops
    provider: { script: scripts/hello-deploy.sh }
    environments: [staging, production]
    notify: "#ops"
    github: { run_deployments: true }
  web:
    repository: acme/web
    provider: { script: scripts/hello-deploy.sh }
    environments: [staging]
    rooms: ["#web"]
    github: { run_deployments: true }
roles:
  github-people: { members: ["github:*"], may: ["deploy:staging"] }
  github-releasers: { members: ["github:alice-gh"], may: ["deploy:production"] }
  chat-ops: { members: [carol], may: ["lock:*", "approve:*", "deploy:*"] }
`,
    path.join(projectRoot, 'deckhand.github-deployments-test.yaml'),
    {},
  );

type PullRequestEvent = {
  action: string;
  repository: { full_name: string };
  pull_request: { merged: boolean; merge_commit_sha: string; base: { ref: string }; number: number; merged_by: { login: string } | null; user: { login: string } };
};

describe('GitHub deployment events: mirrored unless Deckhand created them or the app runs them', () => {
  let github: FakeGitHub;
  let h: InProcess;
  let n = 0;
  const as = (token: string) => new Octokit({ auth: token, baseUrl: github.url, log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
  let actions: Octokit;
  let mallory: Octokit;
  let alice: Octokit;

  beforeAll(async () => {
    github = await startFakeGitHub({ user: { login: bot, type: 'Bot' } });
    for (const repo of ['api', 'ops', 'web']) {
      github.addRepo('acme', repo, { defaultBranchSha: mainSha });
      github.addCommit('acme', repo, mergeSha);
    }
    github.addUser('ghp_actions', 'github-actions[bot]', 'Bot');
    github.addUser('ghp_mallory', 'mallory');
    github.addUser('ghp_alice', 'alice-gh');
    actions = as('ghp_actions');
    mallory = as('ghp_mallory');
    alice = as('ghp_alice');
    h = await startInProcess({ config: config(), github: { auth: { token: github.token }, apiUrl: github.url, webhookSecret: secret } });
    github.sendWebhooks({ url: `${h.base}/webhooks/github`, secret });
  });
  afterAll(async () => {
    await h.close();
    await github.close();
  });
  afterEach(() => expect(github.schemaViolations).toEqual([]));

  /** Until nothing moves: webhooks answered, jobs done (retries included), deployments finished. */
  const settle = async () => {
    for (let round = 0; round < 3; round++) {
      await github.webhooksSent();
      await until(async () => (await h.store.listJobs({ state: 'pending' })).length === 0 && (await h.store.listJobs({ state: 'running' })).length === 0, 'the job queue to drain', 25_000);
      await h.deckhand.runner.idle();
    }
  };
  const deliver = async (event: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    const response = await fetch(`${h.base}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': `test-${++n}`, 'x-hub-signature-256': githubSignature(secret, body) },
      body,
    });
    expect(response.status).toBe(202);
  };
  const say = (text: string, user = 'carol', room = '#ops') => {
    const message: ChatMessage = { id: `m${++n}`, user, room, text, isDirect: true, adapter: 'test' };
    return h.deckhand.dispatcher.handle(message);
  };
  const create = async (client: Octokit, repo: string, environment: string, payload: Record<string, unknown> = {}) => {
    const response = await client.rest.repos.createDeployment({ owner: 'acme', repo, ref: 'main', environment, required_contexts: [], auto_merge: false, payload });
    if (!('id' in response.data)) throw new Error('expected a deployment');
    return response.data.id;
  };
  /** Statuses posted with Deckhand's own token on a GitHub deployment. */
  const deckhandStatuses = (repo: string, id: number) => github.statuses('acme', repo, id).filter((s) => s.creator.login === bot);
  const eventsOf = async (deployment: Deployment) =>
    (await h.store.listEvents({ afterId: 0, limit: 1000 })).filter((e) => (e.data as { deployment?: { id: number } }).deployment?.id === deployment.id).map((e) => [e.type, (e.data as { source: string }).source]);
  const merged = (mergedBy: string) => {
    const event = example<PullRequestEvent>('pull_request', 'closed');
    event.repository.full_name = 'acme/api';
    Object.assign(event.pull_request, { merged: true, merge_commit_sha: mergeSha, merged_by: { ...event.pull_request.user, login: mergedBy } });
    event.pull_request.base.ref = 'main';
    return event;
  };

  describe('item 1: deployments Deckhand did not create', () => {
    test('default: another tool\'s deployment to production is mirrored, not run; its statuses move the mirror; Deckhand posts none', async () => {
      const id = await create(actions, 'api', 'production');
      await settle();
      const mirror = await h.store.findByExternal('github', String(id));
      expect(mirror).toMatchObject({ app: 'api', environment: 'production', state: 'queued', provider: 'external:github', source: 'webhook', requestedBy: 'github:github-actions[bot]' });
      expect((await h.store.listDeployments({ app: 'api' })).filter((d) => d.provider === 'script')).toEqual([]);

      await actions.rest.repos.createDeploymentStatus({ owner: 'acme', repo: 'api', deployment_id: id, state: 'in_progress', log_url: 'https://github.com/acme/api/actions/runs/1' });
      await actions.rest.repos.createDeploymentStatus({ owner: 'acme', repo: 'api', deployment_id: id, state: 'failure', description: 'Smoke tests failed' });
      await settle();
      expect(await h.store.getDeployment(mirror!.id)).toMatchObject({ state: 'failed', reason: 'Smoke tests failed', external: { logUrl: 'https://github.com/acme/api/actions/runs/1' } });
      expect(await eventsOf(mirror!)).toEqual([
        ['deployment.queued', 'github'],
        ['deployment.started', 'github'],
        ['deployment.failed', 'github'],
      ]);
      expect(github.statuses('acme', 'api', id).map((s) => [s.state, s.creator.login])).toEqual([
        ['in_progress', 'github-actions[bot]'],
        ['failure', 'github-actions[bot]'],
      ]);
      expect(github.callsTo('POST', new RegExp(`/deployments/${id}/statuses$`)).filter((c) => c.headers.authorization === `token ${github.token}`)).toEqual([]);
    }, 40_000);

    test('default: a hand-written Deckhand payload (merged_by, a deployment_id Deckhand has no link for) is mirrored as its creator\'s', async () => {
      const forgedMerge = await create(mallory, 'api', 'production', { deckhand: { app: 'api', pull_request: 7, merged_by: 'the-cto' } });
      const linkedElsewhere = (await h.store.listDeployments({ app: 'api', limit: 1 }))[0]!.id;
      const forgedOwn = await create(mallory, 'api', 'staging', { deckhand: { app: 'api', deployment_id: linkedElsewhere } });
      const forgedMissing = await create(mallory, 'api', 'staging', { deckhand: { app: 'api', deployment_id: 424242 } });
      await settle();
      for (const id of [forgedMerge, forgedOwn, forgedMissing]) {
        expect(await h.store.findByExternal('github', String(id))).toMatchObject({ provider: 'external:github', requestedBy: 'github:mallory', state: 'queued' });
        expect(deckhandStatuses('api', id)).toEqual([]);
      }
      // Their statuses are mirrored like any tool's, whatever the payload claims.
      await mallory.rest.repos.createDeploymentStatus({ owner: 'acme', repo: 'api', deployment_id: forgedOwn, state: 'success' });
      await settle();
      expect(await h.store.findByExternal('github', String(forgedOwn))).toMatchObject({ state: 'succeeded' });
      expect((await h.store.listDeployments({ app: 'api' })).filter((d) => d.provider === 'script')).toEqual([]);
    }, 40_000);

    test('run_deployments: a GitHub user\'s deployment runs as github:<login> when a role (github:*) allows it, with statuses back', async () => {
      const id = await create(mallory, 'ops', 'staging');
      await settle();
      const run = await h.store.findByExternal('github', String(id));
      expect(run).toMatchObject({ app: 'ops', environment: 'staging', provider: 'script', state: 'succeeded', requestedBy: 'github:mallory', ref: mainSha });
      expect(deckhandStatuses('ops', id).map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
    }, 40_000);

    test('run_deployments: no role grants deploy:production → a failure status with the reason, a chat notice, nothing runs; the echo is not mirrored, a redelivery not refused twice', async () => {
      const id = await create(mallory, 'ops', 'production');
      await settle();
      expect(deckhandStatuses('ops', id).map((s) => [s.state, s.description])).toEqual([
        ['failure', expect.stringMatching(/^Deckhand did not run it: You \(github:mallory\) are not allowed to do that: it needs deploy:production\./)],
      ]);
      expect(await h.store.findByExternal('github', String(id))).toBeNull();
      expect(h.chat.filter((c) => c.channel === '#ops').map((c) => c.text)).toContainEqual(expect.stringMatching(new RegExp(`^GitHub deployment ${id} of ops to production \\(requested by github:mallory\\) was not run: You \\(github:mallory\\) are not allowed`)));
      expect(await h.store.listAudit({ actor: 'github:mallory', limit: 1 })).toMatchObject([{ action: 'deploy', outcome: 'denied' }]);

      const delivered = github.webhooks.find((w) => w.event === 'deployment' && (w.body.deployment as { id: number }).id === id)!;
      await deliver('deployment', delivered.body);
      await settle();
      expect(deckhandStatuses('ops', id)).toHaveLength(1);
      expect(await h.store.findByExternal('github', String(id))).toBeNull();
    }, 40_000);

    test('run_deployments: locks, approvals and rooms apply to github:<login> as to a chat user', async () => {
      expect((await say('lock staging ops because migration'))?.text).toMatch(/^Locked/);
      const locked = await create(alice, 'ops', 'staging');
      await settle();
      expect(deckhandStatuses('ops', locked).map((s) => [s.state, s.description])).toEqual([['failure', expect.stringMatching(/^Deckhand did not run it: Can't deploy ops\/[0-9a-f]{40} to staging: /)]]);
      await say('unlock staging ops');

      const production = await create(alice, 'ops', 'production');
      await settle();
      const waiting = await h.store.findByExternal('github', String(production));
      expect(waiting).toMatchObject({ state: 'queued', requestedBy: 'github:alice-gh' });
      expect(deckhandStatuses('ops', production).map((s) => s.state)).toEqual(['queued']);
      expect((await say(`approve ${waiting!.id}`))?.text).toMatch(/^Approved/);
      await settle();
      expect(await h.store.getDeployment(waiting!.id)).toMatchObject({ state: 'succeeded' });
      expect(deckhandStatuses('ops', production).map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);

      const elsewhere = await create(alice, 'web', 'staging');
      await settle();
      expect(deckhandStatuses('web', elsewhere).map((s) => [s.state, s.description])).toEqual([['failure', "Deckhand did not run it: web can't be deployed from github; use #web."]]);
    }, 60_000);
  });

  describe('item 10: merged pull requests (auto_deploy) run as the merger, and only Deckhand\'s own', () => {
    test('the deployment Deckhand created for a merged pull request runs (run_deployments is off), requested by merged_by, not the bot', async () => {
      await deliver('pull_request', merged('merger-mona'));
      await settle();
      const [created] = github.deployments('acme', 'api').filter((d) => d.creator.login === bot);
      expect(created).toMatchObject({ sha: mergeSha, environment: 'staging', payload: { deckhand: { app: 'api', merged_by: 'merger-mona', request_key: expect.any(String) } } });
      const run = await h.store.findByExternal('github', String(created!.id));
      expect(run).toMatchObject({ provider: 'script', state: 'succeeded', requestedBy: 'github:merger-mona', ref: mergeSha });
      expect(deckhandStatuses('api', created!.id).map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
    }, 40_000);

    test('replays and copies: a redelivered event runs nothing again; the same payload in someone else\'s deployment is mirrored', async () => {
      const [created] = github.deployments('acme', 'api').filter((d) => d.creator.login === bot);
      const before = (await h.store.listDeployments({ app: 'api', limit: 100 })).length;
      await deliver('deployment', github.webhooks.find((w) => w.event === 'deployment' && (w.body.deployment as { id: number }).id === created!.id)!.body);
      await settle();
      expect((await h.store.listDeployments({ app: 'api', limit: 100 })).length).toBe(before);

      const copy = await create(mallory, 'api', 'staging', created!.payload as Record<string, unknown>);
      await settle();
      expect(await h.store.findByExternal('github', String(copy))).toMatchObject({ provider: 'external:github', requestedBy: 'github:mallory' });
      expect(deckhandStatuses('api', copy)).toEqual([]);
    }, 40_000);

    test('the deployment webhook outrunning GitHub\'s answer to the create call waits for it, then runs as the merger', async () => {
      const held = github.holdNext('POST', /\/repos\/acme\/api\/deployments$/);
      await deliver('pull_request', merged('racer-rita'));
      await held.arrived;
      await github.webhooksSent();
      const id = github.deployments('acme', 'api').at(-1)!.id;
      // The event's job ran, found the create call unanswered, and was put back.
      await until(async () => (await h.store.listJobs({ type: 'github' })).some((j) => j.lastError?.includes(`GitHub deployment ${id} may be Deckhand's own`)), 'the event to wait');
      expect(await h.store.findByExternal('github', String(id))).toBeNull();
      held.release();
      await settle();
      expect(await h.store.findByExternal('github', String(id))).toMatchObject({ provider: 'script', state: 'succeeded', requestedBy: 'github:racer-rita' });
    }, 40_000);

    test('a chat deploy\'s webhook outrunning GitHub\'s answer is still known as Deckhand\'s own: one deployment, linked, run once', async () => {
      const held = github.holdNext('POST', /\/repos\/acme\/api\/deployments$/);
      const reply = say('deploy api to staging');
      await held.arrived;
      await github.webhooksSent();
      const id = github.deployments('acme', 'api').at(-1)!.id;
      await until(async () => (await h.store.listJobs({ type: 'github' })).some((j) => j.lastError?.includes(`GitHub deployment ${id} may be Deckhand's own`)), 'the event to wait');
      held.release();
      expect((await reply)?.text).toMatch(new RegExp(`GitHub deployment ${id} created in acme/api`));
      await settle();
      const linked = await h.store.findByExternal('github', String(id));
      expect(linked).toMatchObject({ provider: 'script', state: 'succeeded', requestedBy: 'carol' });
      expect(deckhandStatuses('api', id).map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
    }, 40_000);
  });
});
