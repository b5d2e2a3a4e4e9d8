import path from 'node:path';
import { Octokit } from '@octokit/rest';
import { projectRoot } from '../../src/app.js';
import type { ChatPlatform, ChatPort } from '../../src/chat/chat-port.js';
import { parseConfig } from '../../src/config/load-config.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github/fake-github.js';
import { webhookExample } from '../fakes/github/webhook-examples.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';

const secret = 'github-webhook-secret-teams';
const mainSha = '5e8f1c2d3b4a69788796a5b4c3d2e1f009182736';
const mergeSha = '9a8b7c6d5e4f30211203f4e5d6c7b8a9a0b1c2d3';
const teamsRoom = '19:deploys@thread.tacv2';

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
    notify: { slack: "#deploys", teams: "${teamsRoom}" }
    auto_deploy: [{ branch: main, environment: staging }]
    github: { run_deployments: true }
roles:
  github-people: { members: ["github:*"], may: ["deploy:staging"] }
`,
    path.join(projectRoot, 'deckhand.github-notify-platforms-test.yaml'),
    {},
  );

type PullRequestEvent = { action: string; repository: { full_name: string }; pull_request: { merged: boolean; merge_commit_sha: string; base: { ref: string }; number: number } };

/**
 * GitHub's notices (an auto-deploy created, a deployment refused) with `notify: { slack, teams }`:
 * one post per platform, each through that platform's port, as main wires them (`chat.on`). The
 * ports record; the Teams port's own delivery (serviceUrl, cards, retries) is teams-notify's.
 */
describe('GitHub notices go to the app\'s notify room on each platform', () => {
  let github: FakeGitHub;
  let h: InProcess;
  let n = 0;
  const posted: Array<{ via: ChatPlatform | 'default'; channel: string; text: string }> = [];
  /** Which platforms run in "this process"; a platform that throws. */
  const running = new Set<ChatPlatform>(['slack', 'teams']);
  let failing: ChatPlatform | null = null;
  const port = (via: ChatPlatform | 'default'): ChatPort => ({
    post: async (channel, text) => {
      if (via === failing) throw new Error(`${via} is down`);
      posted.push({ via, channel, text });
    },
    react: async () => undefined,
  });
  const ports = { slack: port('slack'), teams: port('teams') };

  beforeAll(async () => {
    github = await startFakeGitHub({ user: { login: 'deckhand[bot]', type: 'Bot' } });
    github.addRepo('acme', 'api', { defaultBranchSha: mainSha });
    github.addCommit('acme', 'api', mergeSha);
    github.addUser('ghp_mallory', 'mallory');
    h = await startInProcess({ config: config(), github: { auth: { token: github.token }, apiUrl: github.url, webhookSecret: secret } });
    h.deckhand.setChat({ ...port('default'), on: (platform) => (running.has(platform) ? ports[platform] : null) });
    github.sendWebhooks({ url: `${h.base}/webhooks/github`, secret });
  });
  afterAll(async () => {
    await h.close();
    await github.close();
  });
  beforeEach(() => {
    posted.length = 0;
    running.clear();
    running.add('slack').add('teams');
    failing = null;
  });

  const settle = async () => {
    for (let round = 0; round < 3; round++) {
      await github.webhooksSent();
      await until(async () => (await h.store.listJobs({ state: 'pending' })).length === 0 && (await h.store.listJobs({ state: 'running' })).length === 0, 'the job queue to drain', 25_000);
      await h.deckhand.runner.idle();
    }
  };
  const mergePullRequest = async () => {
    const event = webhookExample<PullRequestEvent>('pull_request', 'closed');
    Object.assign(event.pull_request, { merged: true, merge_commit_sha: mergeSha, number: 100 + ++n });
    event.pull_request.base.ref = 'main';
    event.repository.full_name = 'acme/api';
    const body = JSON.stringify(event);
    const response = await fetch(`${h.base}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': `notify-${n}`, 'x-hub-signature-256': githubSignature(secret, body) },
      body,
    });
    expect(response.status).toBe(202);
    await settle();
  };
  const mallory = () => new Octokit({ auth: 'ghp_mallory', baseUrl: github.url, log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
  const refusedProductionDeployment = async () => {
    const created = await mallory().rest.repos.createDeployment({ owner: 'acme', repo: 'api', ref: 'main', environment: 'production', required_contexts: [], auto_merge: false });
    if (!('id' in created.data)) throw new Error('expected a deployment');
    await settle();
    return created.data.id;
  };

  test('an auto-deploy notice: once in Slack\'s #deploys and once in the Teams conversation, nothing through the default port', async () => {
    await mergePullRequest();
    const text = expect.stringMatching(new RegExp(`^GitHub deployment \\d+ created: api to staging for #${100 + n} \\(merged by \\w+\\)\\.$`));
    expect(posted).toHaveLength(2);
    expect(posted).toEqual(expect.arrayContaining([{ via: 'slack', channel: '#deploys', text }, { via: 'teams', channel: teamsRoom, text }]));
  });

  test('a refused GitHub deployment: the reason in both rooms', async () => {
    const id = await refusedProductionDeployment();
    const refusal = posted.filter((p) => p.text.startsWith(`GitHub deployment ${id} of api to production (requested by github:mallory) was not run:`));
    expect(refusal.map((p) => [p.via, p.channel]).sort()).toEqual([
      ['slack', '#deploys'],
      ['teams', teamsRoom],
    ]);
  });

  test('a process that runs only Teams posts only the Teams notice; one platform failing does not keep the other from its notice', async () => {
    running.delete('slack');
    const first = await refusedProductionDeployment();
    expect(posted.filter((p) => p.text.startsWith(`GitHub deployment ${first} `)).map((p) => [p.via, p.channel])).toEqual([['teams', teamsRoom]]);

    running.add('slack');
    failing = 'teams';
    const second = await refusedProductionDeployment();
    expect(posted.filter((p) => p.text.startsWith(`GitHub deployment ${second} `)).map((p) => [p.via, p.channel])).toEqual([['slack', '#deploys']]);
    // The refusal itself is on GitHub regardless.
    expect(github.statuses('acme', 'api', second).map((s) => s.state)).toEqual(['failure']);
  });
});
