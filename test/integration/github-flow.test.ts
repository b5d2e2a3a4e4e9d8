import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github/fake-github.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';
import { webhookExample } from '../fakes/github/webhook-examples.js';

const example = webhookExample;

const secret = 'github-webhook-secret-123';
const mergeSha = 'c4295bd74fb0f4fda03689c3df3f2803b658fd85';

function config() {
  return parseConfig(
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
  broken:
    repository: acme/broken
    provider: { script: test/fixtures/reactions/fail.sh }
    environments: [staging]
    notify: "#deploys"
    github: { run_deployments: true }
roles:
  github-staging: { members: ["github:*"], may: ["deploy:staging"] }
`,
    path.join(projectRoot, 'deckhand.github-test.yaml'),
    {},
  );
}

type PullRequestEvent = { action: string; repository: { full_name: string; name: string; owner: { login: string } }; pull_request: { merged: boolean; merge_commit_sha: string; base: { ref: string }; number: number } };
type DeploymentEvent = { repository: { full_name: string }; deployment: { id: number; sha: string; ref: string; environment: string; task: string; payload: unknown; creator: { login: string } } };

describe('GitHub: merged pull request → deployment → run → statuses', () => {
  let github: FakeGitHub;
  let h: InProcess;
  let n = 0;

  beforeAll(async () => {
    github = await startFakeGitHub();
    github.addRepo('acme', 'api');
    github.addCommit('acme', 'api', mergeSha);
    github.addRepo('acme', 'broken');
    h = await startInProcess({ config: config(), github: { auth: { token: github.token }, apiUrl: github.url, webhookSecret: secret } });
  });
  afterAll(async () => {
    await h.close();
    await github.close();
  });
  afterEach(() => expect(github.schemaViolations).toEqual([]));

  const deliver = (event: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    return fetch(`${h.base}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': `gh-${++n}`, 'x-hub-signature-256': githubSignature(secret, body) },
      body,
    });
  };

  const merged = (repo = 'api') => {
    const event = example<PullRequestEvent>('pull_request', 'closed');
    event.pull_request.merged = true;
    event.pull_request.merge_commit_sha = mergeSha;
    event.pull_request.base.ref = 'main';
    event.repository.full_name = `acme/${repo}`;
    return event;
  };

  test('a merged pull request creates a GitHub deployment that the real API would accept', async () => {
    expect((await deliver('pull_request', merged())).status).toBe(202);
    const call = await github.waitForCall('POST', /\/repos\/acme\/api\/deployments$/, undefined, 10_000);
    expect(call.status).toBe(201);
    expect(call.body).toMatchObject({ ref: mergeSha, environment: 'staging', auto_merge: false, required_contexts: [], production_environment: false, payload: { deckhand: { app: 'api', pull_request: 2 } } });
    await until(() => h.chat.length === 1, 'the chat notice');
    expect(h.chat[0]?.text).toMatch(/^GitHub deployment \d+ created: api to staging for #2 \(merged by \w+\)\.$/);
  });

  test('the deployment event runs it, requested by the merger (not the bot that created it); statuses go queued → in_progress → success with a working log_url', async () => {
    const [created] = github.deployments('acme', 'api');
    const event = example<DeploymentEvent>('deployment');
    event.repository.full_name = 'acme/api';
    // As GitHub sends it: Deckhand's token created it, with Deckhand's payload.
    Object.assign(event.deployment, { id: created!.id, sha: mergeSha, ref: 'main', environment: 'staging', task: 'deploy', payload: created!.payload, creator: created!.creator });
    expect((await deliver('deployment', event)).status).toBe(202);
    await until(() => github.statuses('acme', 'api', created!.id).some((s) => s.state === 'success'), 'the success status', 20_000);
    const statuses = github.statuses('acme', 'api', created!.id);
    expect(statuses.map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
    const logUrl = statuses.at(-1)?.log_url ?? '';
    expect(logUrl).toMatch(new RegExp(`^${h.base}/deployments/\\d+/log\\?token=`));
    const log = await (await fetch(logUrl)).text();
    expect(log).toContain(`Deploying api@${mergeSha} to staging`);
    const [deployment] = await h.store.listDeployments({ app: 'api' });
    // The example pull request has no merged_by; its author merged it.
    expect(created!.creator.login).toBe('octocat');
    expect(deployment).toMatchObject({ ref: mergeSha, state: 'succeeded', source: 'webhook', requestedBy: 'github:Codertocat' });
  });

  test('an app with run_deployments runs other GitHub deployments too; a failing deploy script reports failure with the reason', async () => {
    github.addCommit('acme', 'broken', mergeSha);
    const event = example<DeploymentEvent>('deployment');
    event.repository.full_name = 'acme/broken';
    Object.assign(event.deployment, { id: 4242, sha: mergeSha, ref: 'main', environment: 'staging', task: 'deploy', payload: {} });
    await deliver('deployment', event);
    await until(() => github.calls.some((c) => c.method === 'POST' && /deployments\/4242\/statuses/.test(c.path) && (c.body as { state?: string }).state === 'failure'), 'the failure status', 20_000);
    const failure = github.calls.filter((c) => /deployments\/4242\/statuses/.test(c.path)).at(-1)?.body as { description: string };
    expect(failure.description).toBe('failed: exited with code 3');
  });

  test('a merge conflict (409) and a refusal (422) are reported in chat; a 5xx is retried', async () => {
    github.nextDeploymentConflict();
    await deliver('pull_request', merged());
    await until(() => h.chat.some((c) => c.text.includes('merge conflict')), 'the conflict notice');

    const unknown = merged();
    unknown.pull_request.merge_commit_sha = 'ffffffffffffffffffffffffffffffffffffffff';
    await deliver('pull_request', unknown);
    await until(() => h.chat.some((c) => c.text.startsWith('GitHub refused the deployment of api to staging')), 'the refusal notice');

    github.failNext('POST', /\/repos\/acme\/api\/deployments$/, 502);
    const before = github.deployments('acme', 'api').length;
    await deliver('pull_request', merged());
    await until(() => github.deployments('acme', 'api').length === before + 1, 'the retried deployment', 20_000);
    const attempts = github.callsTo('POST', /\/repos\/acme\/api\/deployments$/).slice(-2).map((c) => c.status);
    expect(attempts).toEqual([502, 201]);
  }, 40_000);
});
