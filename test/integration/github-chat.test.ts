import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { githubSignature } from '../../src/http/github-webhook-route.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import type { ChatMessage } from '../../src/router/types.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github/fake-github.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';
import { webhookExample } from '../fakes/github/webhook-examples.js';

const example = webhookExample;

const secret = 'github-webhook-secret-456';
const featureSha = '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c';
const mainSha = '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';

const config = () =>
  parseConfig(
    `
environments:
  staging: { aliases: [stg] }
  production: { protected: true }
apps:
  api:
    repository: acme/api
    provider: { script: scripts/hello-deploy.sh }
    environments: [staging, production]
    notify: "#deploys"
    urls: { staging: "https://staging.api.example" }
  local:
    provider: { script: scripts/hello-deploy.sh }
    environments: [staging]
roles:
  deployers: { members: [alice], may: ["deploy:*", "force:*"] }
`,
    path.join(projectRoot, 'deckhand.github-chat-test.yaml'),
    {},
  );

/** A reaction that says in chat which source each finished deployment came from. */
function reactions() {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-gh-reactions-')), 'reactions');
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'announce.yaml'),
    `name: announce
on: { event: [deployment.started, deployment.succeeded, deployment.failed], where: { app: api } }
do:
  - chat: { channel: "#audit", text: "{{ event.type }} {{ deployment.id }} from {{ event.source }}" }
`,
  );
  return loadReactions(dir, {}).reactions;
}

type StatusEvent = {
  action: string;
  repository: { full_name: string };
  deployment_status: { state: string; description: string; log_url?: string; target_url?: string; environment_url?: string };
  deployment: { id: number; url: string; ref: string; sha: string; environment: string; task: string; payload: unknown; creator: { login: string } };
};

describe('GitHub: chat deploys become GitHub deployments; other tools\' statuses are mirrored', () => {
  let github: FakeGitHub;
  let h: InProcess;
  let n = 0;

  beforeAll(async () => {
    github = await startFakeGitHub();
    github.addRepo('acme', 'api', { defaultBranchSha: mainSha });
    github.setRef('acme', 'api', 'feature-x', featureSha);
    github.setRef('acme', 'api', 'release-2', mainSha);
    h = await startInProcess({ config: config(), reactions: reactions(), github: { auth: { token: github.token }, apiUrl: github.url, webhookSecret: secret } });
  });
  afterAll(async () => {
    await h.close();
    await github.close();
  });
  afterEach(() => expect(github.schemaViolations).toEqual([]));

  const say = (text: string, user = 'alice') => {
    const message: ChatMessage = { id: `m${++n}`, user, room: '#ops', text, isDirect: true, adapter: 'test' };
    return h.deckhand.dispatcher.handle(message);
  };
  const deliver = async (event: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    const response = await fetch(`${h.base}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': `chat-${++n}`, 'x-hub-signature-256': githubSignature(secret, body) },
      body,
    });
    expect(response.status).toBe(202);
  };
  const statusEvent = (deployment: Partial<StatusEvent['deployment']>, status: Partial<StatusEvent['deployment_status']>) => {
    const event = example<StatusEvent>('deployment_status');
    event.repository.full_name = 'acme/api';
    Object.assign(event.deployment, { task: 'deploy', payload: {}, ...deployment });
    Object.assign(event.deployment_status, status);
    return event;
  };
  const settle = async () => {
    await until(async () => (await h.store.listJobs({ state: 'pending' })).length === 0 && (await h.store.listJobs({ state: 'running' })).length === 0, 'the job queue to drain');
    await h.deckhand.runner.idle();
  };

  test('"deploy api/feature-x to stg" creates the GitHub deployment, runs it, and reports statuses with environment_url', async () => {
    const reply = await say('deploy api/feature-x to stg');
    expect(reply?.text).toMatch(/^Deployment #(\d+) api\/feature-x to staging queued\.\nGitHub deployment (\d+) created in acme\/api\.$/);
    const [created] = github.deployments('acme', 'api');
    const deckhandId = Number(/#(\d+)/.exec(reply!.text)![1]);
    expect(created).toMatchObject({ ref: 'feature-x', sha: featureSha, environment: 'staging', production_environment: false, payload: { deckhand: { app: 'api', deployment_id: deckhandId, requested_by: 'alice' } } });
    // GitHub's default for required_contexts (every check green) is kept for a normal deploy.
    expect(github.callsTo('POST', /\/repos\/acme\/api\/deployments$/)[0]?.body).not.toHaveProperty('required_contexts');

    await until(() => github.statuses('acme', 'api', created!.id).some((s) => s.state === 'success'), 'the success status', 20_000);
    const statuses = github.statuses('acme', 'api', created!.id);
    expect(statuses.map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
    expect(statuses.at(-1)).toMatchObject({ environment_url: 'https://staging.api.example', log_url: expect.stringContaining(`/deployments/${deckhandId}/log?token=`) });
    expect(await h.store.getDeployment(deckhandId)).toMatchObject({ state: 'succeeded', provider: 'script', external: { system: 'github', id: String(created!.id), repository: 'acme/api' } });

    // GitHub then sends the deployment and its statuses back: Deckhand knows them as its own.
    await deliver('deployment', { ...statusEvent({ id: created!.id, ref: 'feature-x', sha: featureSha, environment: 'staging', payload: created!.payload }, {}), deployment_status: undefined });
    await deliver('deployment_status', statusEvent({ id: created!.id, ref: 'feature-x', environment: 'staging', payload: created!.payload }, { state: 'success' }));
    await settle();
    expect(await h.store.listDeployments({ app: 'api' })).toHaveLength(1);
    expect(github.deployments('acme', 'api')).toHaveLength(1);
  }, 30_000);

  test('deploy! skips GitHub\'s status checks (required_contexts: []); an app without a repository never touches GitHub', async () => {
    const before = github.calls.length;
    await say('deploy local to staging');
    await settle();
    expect(github.calls.length).toBe(before);

    await say('deploy! api/feature-x to staging');
    expect(github.callsTo('POST', /\/repos\/acme\/api\/deployments$/).at(-1)?.body).toMatchObject({ required_contexts: [] });
    await settle();
  }, 30_000);

  test('GitHub refusing (422 unknown ref, 409 failing checks) is a clear chat error and nothing runs', async () => {
    const unknown = await say('deploy api/no-such-branch to staging');
    expect(unknown).toMatchObject({ tone: 'error' });
    expect(unknown?.text).toBe(
      'GitHub refused the deployment of api/no-such-branch to staging: 422 No ref found for: no-such-branch. Check that acme/api and the ref "no-such-branch" exist and that Deckhand\'s token may create deployments.',
    );
    const [cancelled] = await h.store.listDeployments({ app: 'api', limit: 1 });
    expect(cancelled).toMatchObject({ ref: 'no-such-branch', state: 'cancelled', startedAt: null });

    github.nextDeploymentConflict('Conflict: Commit status checks failed for feature-x.');
    const conflict = await say('deploy api/feature-x to staging');
    expect(conflict?.text).toBe("GitHub won't deploy api/feature-x to staging: Conflict: Commit status checks failed for feature-x.. Fix the checks, or use deploy! to skip them.");
    const audit = await h.store.listAudit({ action: 'deploy', limit: 1 });
    expect(audit[0]).toMatchObject({ actor: 'alice', outcome: 'failed' });
  });

  test('an unknown repository (404) is a clear chat error', async () => {
    const h404 = await startInProcess({
      config: parseConfig(
        `
environments: { staging: {} }
apps:
  ghost: { repository: acme/ghost, provider: { script: scripts/hello-deploy.sh }, environments: [staging] }
roles: { deployers: { members: [alice], may: ["deploy:*"] } }
`,
        path.join(projectRoot, 'deckhand.github-404.yaml'),
        {},
      ),
      github: { auth: { token: github.token }, apiUrl: github.url },
      listen: false,
    });
    try {
      const reply = await h404.deckhand.dispatcher.handle({ id: 'g404', user: 'alice', room: '#ops', text: 'deploy ghost to staging', isDirect: true, adapter: 'test' });
      expect(reply).toMatchObject({ tone: 'error' });
      expect(reply?.text).toMatch(/^GitHub refused the deployment of ghost\/main to staging: 404 Not Found\. Check that acme\/ghost and the ref "main" exist/);
    } finally {
      await h404.close();
    }
  });

  test('a GitHub outage is reported, not hung on', async () => {
    github.failNext('POST', /\/repos\/acme\/api\/deployments$/, 503);
    const reply = await say('deploy api to staging');
    expect(reply?.text).toMatch(/^GitHub did not answer for acme\/api: .*Try again in a moment\.$/);
  });

  test('deployment_status from another tool: one mirrored deployment, the same events (source github), no statuses echoed back', async () => {
    const chatBefore = h.chat.length;
    const callsBefore = github.calls.length;
    const deployment = { id: 9001, url: 'https://api.github.com/repos/acme/api/deployments/9001', ref: 'release-2', sha: mainSha, environment: 'staging', creator: { login: 'actions-bot' } };
    await deliver('deployment_status', statusEvent(deployment, { state: 'in_progress', description: 'Deploying', log_url: 'https://github.com/acme/api/actions/runs/1' }));
    await settle();
    await deliver('deployment_status', statusEvent(deployment, { state: 'success', description: 'Deployed', log_url: 'https://github.com/acme/api/actions/runs/1', environment_url: 'https://staging.api.example/v2' }));
    await settle();

    const mirror = await h.store.findByExternal('github', '9001');
    expect(mirror).toMatchObject({
      app: 'api',
      environment: 'staging',
      ref: 'release-2',
      state: 'succeeded',
      provider: 'external:github',
      source: 'webhook',
      requestedBy: 'github:actions-bot',
      startedAt: expect.any(String),
      external: { system: 'github', id: '9001', logUrl: 'https://github.com/acme/api/actions/runs/1', environmentUrl: 'https://staging.api.example/v2' },
    });
    const events = (await h.store.listEvents({ afterId: 0, limit: 1000 })).filter((e) => (e.data as { deployment?: { id: number } }).deployment?.id === mirror!.id);
    expect(events.map((e) => [e.type, (e.data as { source: string }).source])).toEqual([
      ['deployment.queued', 'github'],
      ['deployment.started', 'github'],
      ['deployment.succeeded', 'github'],
    ]);
    await until(() => h.chat.filter((c) => c.channel === '#audit' && c.text.endsWith(`${mirror!.id} from github`)).length === 2, 'the reactions for the mirrored deployment');
    expect(h.chat.slice(chatBefore).filter((c) => c.channel === '#audit').map((c) => c.text)).toEqual([`deployment.started ${mirror!.id} from github`, `deployment.succeeded ${mirror!.id} from github`]);
    expect(github.calls.slice(callsBefore)).toEqual([]);

    const listing = await say('deploys api');
    expect(listing?.text).toContain(`#${mirror!.id} api/release-2 to staging — succeeded in`);
    expect(listing?.text).toContain('[GitHub deployment 9001]');
  }, 30_000);

  test('statuses out of order: a late in_progress after failure changes nothing; failure keeps GitHub\'s description', async () => {
    const deployment = { id: 9002, url: 'https://api.github.com/repos/acme/api/deployments/9002', ref: 'main', sha: mainSha, environment: 'staging', creator: { login: 'actions-bot' } };
    await deliver('deployment_status', statusEvent(deployment, { state: 'failure', description: 'Smoke tests failed' }));
    await settle();
    await deliver('deployment_status', statusEvent(deployment, { state: 'in_progress', description: '' }));
    await settle();
    const mirror = await h.store.findByExternal('github', '9002');
    expect(mirror).toMatchObject({ state: 'failed', reason: 'Smoke tests failed', startedAt: null });
    const types = (await h.store.listEvents({ afterId: 0, limit: 1000 })).filter((e) => (e.data as { deployment?: { id: number } }).deployment?.id === mirror!.id).map((e) => e.type);
    expect(types).toEqual(['deployment.queued', 'deployment.failed']);
  });

  test('statuses for repositories, environments or states Deckhand does not know are ignored', async () => {
    const before = (await h.store.listDeployments({ limit: 100 })).length;
    const other = statusEvent({ id: 9100, ref: 'main', environment: 'staging' }, { state: 'success' });
    other.repository.full_name = 'acme/unknown';
    await deliver('deployment_status', other);
    await deliver('deployment_status', statusEvent({ id: 9101, ref: 'main', environment: 'preview-42' }, { state: 'success' }));
    await deliver('deployment_status', statusEvent({ id: 9102, ref: 'main', environment: 'staging' }, { state: 'inactive' }));
    await settle();
    expect((await h.store.listDeployments({ limit: 100 })).length).toBe(before);
  });

  test('rollback redeploys the previous successful ref (a mirrored deployment counts) as a new GitHub deployment', async () => {
    await say('deploy api/main to staging');
    await settle();
    const reply = await say('rollback api in staging');
    expect(reply?.text).toMatch(/roll back/i);
    await say('yes');
    await settle();
    const last = github.deployments('acme', 'api').at(-1);
    // Before it: main (just now), then release-2 (deployed by another tool, mirrored).
    expect(last).toMatchObject({ ref: 'release-2', environment: 'staging' });
    const [rollback] = await h.store.listDeployments({ app: 'api', limit: 1 });
    expect(rollback).toMatchObject({ ref: 'release-2', rollbackOf: expect.any(Number), state: 'succeeded', external: { id: String(last!.id) } });
  }, 30_000);
});

describe('GitHub App authentication', () => {
  test('installation tokens are minted with the App JWT and used for the API', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const github = await startFakeGitHub({ token: 'not-used', app: { id: 123456, installationId: 987, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
    github.addRepo('acme', 'api', { defaultBranchSha: mainSha });
    const h = await startInProcess({ config: config(), github: { auth: { appId: 123456, privateKey: pem, installationId: 987 }, apiUrl: github.url } });
    try {
      const reply = await h.deckhand.dispatcher.handle({ id: 'a1', user: 'alice', room: '#ops', text: 'deploy api to staging', isDirect: true, adapter: 'test' });
      expect(reply?.text).toContain('GitHub deployment 1 created in acme/api');
      expect(github.installationTokens).toHaveLength(1);
      const create = github.callsTo('POST', /\/repos\/acme\/api\/deployments$/)[0];
      expect(create?.headers.authorization).toBe(`token ${github.installationTokens[0]}`);
      await until(() => github.statuses('acme', 'api', 1).some((s) => s.state === 'success'), 'the success status', 20_000);
      // One token serves every call until it expires.
      expect(github.installationTokens).toHaveLength(1);
      expect(github.schemaViolations).toEqual([]);
    } finally {
      await h.close();
      await github.close();
    }
  }, 30_000);

  test('a wrong private key is refused by GitHub and reported in chat', async () => {
    const right = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const github = await startFakeGitHub({ app: { id: 1, installationId: 2, publicKey: right.publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
    github.addRepo('acme', 'api');
    const h = await startInProcess({ config: config(), github: { auth: { appId: 1, privateKey: wrong.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), installationId: 2 }, apiUrl: github.url } });
    try {
      const reply = await h.deckhand.dispatcher.handle({ id: 'a2', user: 'alice', room: '#ops', text: 'deploy api to staging', isDirect: true, adapter: 'test' });
      expect(reply?.text).toMatch(/^GitHub refused the deployment of api\/main to staging: 401 /);
      expect(github.installationTokens).toEqual([]);
    } finally {
      await h.close();
      await github.close();
    }
  }, 30_000);
});
