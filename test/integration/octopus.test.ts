import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ShellAdapter } from '../../adapters/shell/shell-adapter.js';
import { projectRoot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import type { ChatMessage } from '../../src/router/types.js';
import { startFakeOctopus, type FakeOctopus } from '../fakes/octopus/fake-octopus.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';

const webhookSecret = 'octopus-webhook-secret-0123456789';

const config = (timeout = '1h') =>
  parseConfig(
    `
environments:
  staging: {}
  production: { aliases: [prod] }
apps:
  web:
    provider: { octopus: { project: "Core Web", poll: 20ms, environments: { production: Production } }, timeout: ${timeout} }
    environments: [staging, production]
    notify: "#web"
roles:
  deployers: { members: [alice], may: ["deploy:*", "release:*"] }
`,
    path.join(projectRoot, 'deckhand.octopus-test.yaml'),
    {},
  );

/** The Reactions RFC's Tentacle case: a new target in an environment gets the latest release. */
function reactions() {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-octo-reactions-')), 'reactions');
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'new-target.yaml'),
    `name: deploy-to-new-target
on:
  event: target.registered
  where: { path: target.roles, contains: web }
do:
  - deploy: { app: web, environment: "{{ target.environment }}" }
`,
  );
  writeFileSync(
    path.join(dir, 'announce.yaml'),
    `name: announce
on: { event: [release.created, process.updated, deployment.succeeded] }
do:
  - chat: { channel: "#audit", text: "{{ event.type }} from {{ event.source }}" }
`,
  );
  return loadReactions(dir, {}).reactions;
}

describe('Octopus Deploy as a provider', () => {
  let octopus: FakeOctopus;
  let h: InProcess;
  let n = 0;

  beforeAll(async () => {
    octopus = await startFakeOctopus();
    h = await startInProcess({
      config: config(),
      reactions: reactions(),
      octopus: { url: octopus.url, apiKey: octopus.apiKey, space: 'Default', webhookSecret, webhookHeader: 'X-Deckhand-Secret' },
    });
  });
  afterAll(async () => {
    await h?.close();
    await octopus?.close();
  });

  const say = (text: string, user = 'alice') => {
    const message: ChatMessage = { id: `o${++n}`, user, room: '#ops', text, isDirect: true, adapter: 'test' };
    return h.deckhand.dispatcher.handle(message);
  };
  const settle = async () => {
    await until(async () => (await h.store.listJobs({ state: 'pending' })).length === 0 && (await h.store.listJobs({ state: 'running' })).length === 0, 'the job queue to drain');
    await h.deckhand.runner.idle();
  };
  const latest = async () => (await h.store.listDeployments({ app: 'web', limit: 1 }))[0]!;
  const hook = { get url() { return `${h.base}/webhooks/octopus`; }, headerKey: 'X-Deckhand-Secret', headerValue: webhookSecret };

  test('create release: packages at their newest version as Octopus would pick them, or as named; the link is posted', async () => {
    const reply = await say('create release web 1.5.0 "Faster checkout"');
    expect(reply?.text).toBe(`Release web 1.5.0 created: Faster checkout.\nPackages: web 1.4.0.\n${octopus.url}/app#/Spaces-1/releases/${octopus.releases()[0]!.Id}`);
    expect(octopus.callsTo('POST', /\/api\/Spaces-1\/releases$/)[0]?.body).toEqual({
      ProjectId: 'Projects-1',
      ChannelId: 'Channels-1',
      Version: '1.5.0',
      ReleaseNotes: 'Faster checkout',
      SelectedPackages: [{ ActionName: 'Deploy Core Web', PackageReferenceName: '', Version: '1.4.0' }],
    });
    expect(await h.store.getRelease('web', '1.5.0')).toMatchObject({ createdBy: 'alice', notes: 'Faster checkout' });

    const pinned = await say('create release web 1.5.1 with web=1.3.0');
    expect(pinned?.text).toContain('Packages: web 1.3.0.');
    expect(octopus.releases().find((r) => r.Version === '1.5.1')?.SelectedPackages).toEqual([expect.objectContaining({ Version: '1.3.0' })]);

    const again = await say('create release web 1.5.0');
    expect(again).toMatchObject({ tone: 'error', text: 'Release 1.5.0 of web already exists.' });
    const missing = await say('create release web 1.6.0 with web=9.9.9');
    expect(missing?.text).toMatch(/^Octopus answered 400 to POST \/api\/Spaces-1\/releases: /);
    expect(await h.store.getRelease('web', '1.6.0')).toBeNull();
  });

  test('deploy web 1.5.0 to staging: deploys the release, follows the task, keeps its log, links the Octopus deployment', async () => {
    octopus.nextTaskScript(['Queued', 'Executing', 'Executing', 'Success'], { log: ['Acquiring packages', 'Deploying Core Web 1.5.0', 'Deployment complete'] });
    const reply = await say('deploy web 1.5.0 to staging');
    expect(reply?.text).toMatch(/^Deployment #\d+ web\/1\.5\.0 to staging queued\./);
    await settle();
    const d = await latest();
    const [created] = octopus.deployments();
    expect(octopus.callsTo('POST', /\/api\/Spaces-1\/deployments$/)[0]?.body).toMatchObject({ ReleaseId: octopus.releases().find((r) => r.Version === '1.5.0')!.Id, EnvironmentId: 'Environments-1' });
    expect(d).toMatchObject({ state: 'succeeded', ref: '1.5.0', provider: 'octopus', external: { system: 'octopus', id: created!.Id, url: `${octopus.url}/app#/Spaces-1/deployments/${created!.Id}` } });
    const log = (await h.store.readLog(d.id)).map((l) => l.line);
    expect(log).toEqual(expect.arrayContaining([`Octopus task ${created!.TaskId}: Queued`, `Octopus task ${created!.TaskId}: Executing`, `Octopus task ${created!.TaskId}: Success`]));
    expect(log.some((l) => l.endsWith('Deploying Core Web 1.5.0'))).toBe(true);
  });

  test('"deploy web to prod" deploys the latest release, resolved when asked, to the mapped environment', async () => {
    const reply = await say('deploy web to prod');
    expect(reply?.text).toMatch(/^Deployment #\d+ web\/1\.5\.1 to production queued\./);
    await settle();
    expect(octopus.deployments().at(-1)).toMatchObject({ EnvironmentId: 'Environments-2' });
    expect((await latest()).state).toBe('succeeded');
  });

  test('failed, cancelled and timed-out tasks are reported as such, with the task log tail', async () => {
    octopus.nextTaskScript(['Queued', 'Executing', 'Failed'], { errorMessage: 'Step "Deploy Core Web" failed: exit code 1', log: ['Running deploy script', 'Error: disk full'] });
    await say('deploy web 1.5.0 to staging');
    await settle();
    const d = await latest();
    expect(d).toMatchObject({ state: 'failed', reason: `failed in Octopus (task ${octopus.tasks().at(-1)!.Id}): Step "Deploy Core Web" failed: exit code 1` });
    expect(d.logTail).toContain('Error: disk full');

    octopus.nextTaskScript(['Queued', 'Executing', 'Cancelling', 'Canceled']);
    await say('deploy web 1.5.0 to staging');
    await settle();
    expect(await latest()).toMatchObject({ state: 'cancelled', reason: `cancelled in Octopus (task ${octopus.tasks().at(-1)!.Id})` });

    octopus.nextTaskScript(['Queued', 'Executing', 'TimedOut'], { errorMessage: 'The task timed out' });
    await say('deploy web 1.5.0 to staging');
    await settle();
    expect((await latest()).reason).toMatch(/^timed out in Octopus \(task ServerTasks-\d+\): The task timed out$/);
    expect((await latest()).state).toBe('failed');
  });

  test('an unknown version is refused before anything is queued', async () => {
    const before = octopus.deployments().length;
    const reply = await say('deploy web 9.9.9 to staging');
    expect(reply).toMatchObject({ tone: 'error', text: 'web has no release 9.9.9 in Octopus: "create release web 9.9.9" first, or "deploy web" for the latest.' });
    expect(octopus.deployments()).toHaveLength(before);
  });

  describe('subscription webhooks', () => {
    const post = (body: unknown, secret = webhookSecret) =>
      fetch(hook.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-deckhand-secret': secret }, body: JSON.stringify(body) });

    test('a wrong or missing header secret is 401; a body that is not a subscription payload is 400', async () => {
      expect((await post({ Payload: {} }, 'wrong-secret-wrong-secret')).status).toBe(401);
      expect((await fetch(hook.url, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await post({ Payload: {} })).status).toBe(400);
      const malformed = await fetch(hook.url, { method: 'POST', headers: { 'x-deckhand-secret': webhookSecret, 'content-type': 'application/json' }, body: '{"Payload":' });
      expect(malformed.status).toBe(400);
    });

    test('a deployment started in Octopus is mirrored: events with source octopus, even out of order and sent twice', async () => {
      const release = octopus.addRelease('Core Web', '1.7.0');
      const response = await fetch(`${octopus.url}/api/Spaces-1/deployments`, { method: 'POST', headers: { 'x-octopus-apikey': octopus.apiKey, 'content-type': 'application/json' }, body: JSON.stringify({ ReleaseId: release.Id, EnvironmentId: 'Environments-2' }) });
      const deployment = (await response.json()) as { Id: string; TaskId: string };
      const related = [deployment.Id, 'Projects-1', release.Id, 'Environments-2', deployment.TaskId];
      // Octopus batches: the failure may arrive first, and a batch may come twice.
      expect((await octopus.emitSubscriptionEvent(hook, { category: 'DeploymentFailed', relatedDocumentIds: related, eventId: 'Events-900', username: 'carol', message: 'Deploy to Production failed for Core Web release 1.7.0 to Production' })).status).toBe(202);
      expect((await octopus.emitSubscriptionEvent(hook, { category: 'DeploymentFailed', relatedDocumentIds: related, eventId: 'Events-900' })).status).toBe(200);
      await settle();
      expect((await octopus.emitSubscriptionEvent(hook, { category: 'DeploymentStarted', relatedDocumentIds: related, eventId: 'Events-899', username: 'carol' })).status).toBe(202);
      await settle();
      const mirror = await h.store.findByExternal('octopus', deployment.Id);
      expect(mirror).toMatchObject({ app: 'web', environment: 'production', ref: '1.7.0', state: 'failed', provider: 'external:octopus', requestedBy: 'octopus:carol', reason: 'Deploy to Production failed for Core Web release 1.7.0 to Production' });
      const events = (await h.store.listEvents({ afterId: 0, limit: 1000 })).filter((e) => (e.data as { deployment?: { id: number } }).deployment?.id === mirror!.id);
      expect(events.map((e) => [e.type, (e.data as { source: string }).source])).toEqual([
        ['deployment.queued', 'octopus'],
        ['deployment.failed', 'octopus'],
      ]);
    });

    test('events about Deckhand\'s own Octopus deployments and releases change nothing', async () => {
      const own = (await h.store.listDeployments({ app: 'web', states: ['succeeded'], limit: 1 }))[0]!;
      const octo = octopus.deployments().find((d) => d.Id === own.external?.id)!;
      const before = (await h.store.listDeployments({ limit: 100 })).length;
      const eventsBefore = (await h.store.listEvents({ afterId: 0, limit: 1000 })).length;
      await octopus.emitSubscriptionEvent(hook, { category: 'DeploymentSucceeded', relatedDocumentIds: [octo.Id, 'Projects-1', octo.ReleaseId, octo.EnvironmentId, octo.TaskId] });
      await octopus.emitSubscriptionEvent(hook, { category: 'ReleaseCreated', relatedDocumentIds: [octopus.releases()[0]!.Id, 'Projects-1'] });
      await settle();
      expect((await h.store.listDeployments({ limit: 100 })).length).toBe(before);
      expect((await h.store.listEvents({ afterId: 0, limit: 1000 })).length).toBe(eventsBefore);
    });

    test('ReleaseCreated in Octopus → release.created; a deployment process change → process.updated (source octopus)', async () => {
      const release = octopus.addRelease('Core Web', '1.8.0');
      await octopus.emitSubscriptionEvent(hook, { category: 'ReleaseCreated', relatedDocumentIds: [release.Id, 'Projects-1', 'Channels-1'], username: 'dave' });
      await octopus.emitSubscriptionEvent(hook, { category: 'Modified', relatedDocumentIds: ['deploymentprocess-Projects-1', 'Projects-1'], username: 'dave' });
      await octopus.emitSubscriptionEvent(hook, { category: 'Modified', relatedDocumentIds: ['Environments-1'] });
      await settle();
      expect(await h.store.getRelease('web', '1.8.0')).toMatchObject({ createdBy: 'octopus:dave' });
      await until(() => h.chat.some((c) => c.text === 'process.updated from octopus'), 'the process.updated reaction');
      expect(h.chat.filter((c) => c.channel === '#audit' && c.text.endsWith('from octopus')).map((c) => c.text)).toEqual(['release.created from octopus', 'process.updated from octopus']);
    });

    test('a new Tentacle (MachineAdded) → target.registered → a reaction deploys the latest release there', async () => {
      const deploymentsBefore = octopus.deployments().length;
      const machine = octopus.addMachine({ name: 'web-07', roles: ['web'], environmentIds: ['Environments-1'] });
      await octopus.emitSubscriptionEvent(hook, { category: 'MachineAdded', relatedDocumentIds: [machine, 'Environments-1'] });
      await settle();
      await until(() => octopus.deployments().length === deploymentsBefore + 1, 'the deployment to the new target');
      await settle();
      const registered = (await h.store.listEvents({ type: 'target.registered', afterId: 0 })).at(-1);
      expect(registered?.data).toMatchObject({ source: 'octopus', target: { name: 'web-07', environment: 'staging', roles: ['web'] } });
      expect(await latest()).toMatchObject({ ref: '1.8.0', environment: 'staging', source: 'reaction', state: 'succeeded' });
    });

    test('a webhook saying Deckhand\'s running Octopus deployment succeeded does not finish it: Deckhand follows its own task', async () => {
      octopus.nextTaskScript(['Queued', 'Executing']); // hangs until Deckhand stops
      await say('deploy web 1.5.0 to prod');
      await until(async () => Boolean((await latest()).external), 'the Octopus deployment to be linked');
      const own = await latest();
      const octo = octopus.deployments().find((d) => d.Id === own.external?.id)!;
      const eventsBefore = (await h.store.listEvents({ afterId: 0, limit: 1000 })).length;
      await octopus.emitSubscriptionEvent(hook, { category: 'DeploymentSucceeded', relatedDocumentIds: [octo.Id, 'Projects-1', octo.ReleaseId, octo.EnvironmentId, octo.TaskId] });
      await until(async () => (await h.store.listJobs({ state: 'pending' })).length === 0 && (await h.store.listJobs({ state: 'running' })).length === 0, 'the webhook job');
      expect(await h.store.getDeployment(own.id)).toMatchObject({ state: 'running', provider: 'octopus' });
      expect((await h.store.listEvents({ afterId: 0, limit: 1000 })).length).toBe(eventsBefore);
    });

    test('a deployment known only from its DeploymentSucceeded event: the terminal says "succeeded", not "succeeded in ?"', async () => {
      const output = new PassThrough();
      let printed = '';
      output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
      const shell = new ShellAdapter({ input: new PassThrough(), output, user: 'shell:tester', botName: 'deckhand' });
      const unsubscribe = h.deckhand.bus.subscribe(shell.onEvent);
      try {
        const release = octopus.addRelease('Core Web', '1.9.0');
        const response = await fetch(`${octopus.url}/api/Spaces-1/deployments`, { method: 'POST', headers: { 'x-octopus-apikey': octopus.apiKey, 'content-type': 'application/json' }, body: JSON.stringify({ ReleaseId: release.Id, EnvironmentId: 'Environments-1' }) });
        const deployment = (await response.json()) as { Id: string; TaskId: string };
        await octopus.emitSubscriptionEvent(hook, { category: 'DeploymentSucceeded', relatedDocumentIds: [deployment.Id, 'Projects-1', release.Id, 'Environments-1', deployment.TaskId], username: 'erin' });
        // Not settle(): the test before leaves Deckhand's own deployment running.
        await until(async () => (await h.store.findByExternal('octopus', deployment.Id))?.state === 'succeeded', 'the mirrored deployment');
        const mirror = await h.store.findByExternal('octopus', deployment.Id);
        expect(mirror).toMatchObject({ state: 'succeeded', startedAt: null, ref: '1.9.0' });
        await until(() => printed.includes(`[deploy] #${mirror!.id} web/1.9.0 to staging: succeeded`), 'the terminal notice');
        expect(printed).toContain(`[deploy] #${mirror!.id} web/1.9.0 to staging: succeeded\n`);
        expect(printed).not.toContain('succeeded in');
      } finally {
        unsubscribe();
      }
    });
  });
});

describe('Octopus: the release a ref names', () => {
  /** A fresh fake Octopus (set up by `seed`) and a Deckhand whose app web uses project Core Web with `provider` options. */
  async function deployWith(seed: (octopus: FakeOctopus) => void, provider: string, text: string) {
    const octopus = await startFakeOctopus();
    seed(octopus);
    const cfg = parseConfig(
      `
environments: { staging: {} }
apps:
  web: { provider: { octopus: { project: "Core Web", poll: 20ms${provider} } }, environments: [staging] }
roles: { deployers: { members: [alice], may: ["deploy:*"] } }
`,
      path.join(projectRoot, 'deckhand.octopus-refs.yaml'),
      {},
    );
    const h = await startInProcess({ config: cfg, octopus: { url: octopus.url, apiKey: octopus.apiKey, space: 'Spaces-1', webhookHeader: 'X-Deckhand-Secret' }, listen: false });
    try {
      const reply = await h.deckhand.dispatcher.handle({ id: 'r1', user: 'alice', room: '#ops', text, isDirect: true, adapter: 'test' });
      await h.deckhand.runner.idle();
      const deployed = octopus.callsTo('POST', /\/deployments$/).map((c) => octopus.releases().find((r) => r.Id === (c.body as { ReleaseId: string }).ReleaseId)?.Version);
      return { reply, deployed, calls: octopus.calls.map((c) => `${c.method} ${c.path}`), deployments: await h.store.listDeployments({ app: 'web' }) };
    } finally {
      await h.close();
      await octopus.close();
    }
  }

  /** The default channel's 1.5.0 and 1.6.0, then a newer hotfix release in a Hotfix channel. */
  const withHotfix = (octopus: FakeOctopus) => {
    octopus.addChannel('Core Web', { name: 'Hotfix' });
    octopus.addRelease('Core Web', '1.5.0');
    octopus.addRelease('Core Web', '1.6.0');
    octopus.addRelease('Core Web', '1.7.0-hotfix.1', { channel: 'Hotfix' });
  };

  test('an app that names no channel: "latest" is the newest release of the project\'s default channel, not a newer hotfix', async () => {
    const { reply, deployed, deployments } = await deployWith(withHotfix, '', 'deploy web to staging');
    expect(reply?.text).toMatch(/^Deployment #1 web\/1\.6\.0 to staging queued\./);
    expect(deployed).toEqual(['1.6.0']);
    expect(deployments[0]).toMatchObject({ ref: '1.6.0', state: 'succeeded' });
  });

  test('an app on the Hotfix channel: "latest" is that channel\'s newest', async () => {
    const { reply, deployed } = await deployWith(withHotfix, ', channel: Hotfix', 'deploy web to staging');
    expect(reply?.text).toMatch(/^Deployment #1 web\/1\.7\.0-hotfix\.1 to staging queued\./);
    expect(deployed).toEqual(['1.7.0-hotfix.1']);
  });

  test('a channel without releases says so; nothing is queued', async () => {
    const { reply, deployments } = await deployWith((o) => {
      o.addChannel('Core Web', { name: 'Hotfix' });
      o.addRelease('Core Web', '1.6.0');
    }, ', channel: Hotfix', 'deploy web to staging');
    expect(reply).toMatchObject({ tone: 'error', text: 'web has no release in its Octopus channel Hotfix yet: "create release web <version>" first.' });
    expect(deployments).toEqual([]);
  });

  test('a version is looked up exactly: 2.0.1 is found though 31 newer versions contain "2.0.1"', async () => {
    const { reply, deployed, calls } = await deployWith((o) => {
      o.addRelease('Core Web', '2.0.1');
      for (let patch = 100; patch <= 130; patch++) o.addRelease('Core Web', `2.0.${patch}`);
    }, '', 'deploy web 2.0.1 to staging');
    expect(reply?.text).toMatch(/^Deployment #1 web\/2\.0\.1 to staging queued\./);
    expect(deployed).toEqual(['2.0.1']);
    expect(calls).toContain('GET /api/Spaces-1/projects/Projects-1/releases/2.0.1');
  });
});

describe('Octopus: timeouts and a wrong API key', () => {
  test('Deckhand stops following a hanging task after its timeout and says so', async () => {
    const octopus = await startFakeOctopus();
    octopus.addRelease('Core Web', '2.0.0');
    const h = await startInProcess({ config: config('300ms'), octopus: { url: octopus.url, apiKey: octopus.apiKey, space: 'Spaces-1', webhookHeader: 'X-Deckhand-Secret' } });
    try {
      octopus.nextTaskScript(['Queued', 'Executing']);
      await h.deckhand.dispatcher.handle({ id: 't1', user: 'alice', room: '#ops', text: 'deploy web to staging', isDirect: true, adapter: 'test' });
      await h.deckhand.runner.idle();
      const [d] = await h.store.listDeployments({ app: 'web', limit: 1 });
      expect(d).toMatchObject({ state: 'failed', reason: `still running after 300ms: Deckhand stopped following Octopus task ${octopus.tasks()[0]!.Id}, which may still finish in Octopus` });
    } finally {
      await h.close();
      await octopus.close();
    }
  });

  test('a tenanted project on a named channel: the tenant goes with the deployment, "latest" is the channel\'s newest', async () => {
    const octopus = await startFakeOctopus();
    const tenant = octopus.addTenant('Acme');
    octopus.addRelease('Core Web', '3.0.0');
    const tenanted = parseConfig(
      `
environments: { staging: {} }
apps:
  web: { provider: { octopus: { project: core-web, space: Default, channel: Default, tenant: Acme, poll: 20ms } }, environments: [staging] }
roles: { deployers: { members: [alice], may: ["deploy:*"] } }
`,
      path.join(projectRoot, 'deckhand.octopus-tenant.yaml'),
      {},
    );
    const h = await startInProcess({ config: tenanted, octopus: { url: octopus.url, apiKey: octopus.apiKey, space: 'Spaces-1', webhookHeader: 'X-Deckhand-Secret' }, listen: false });
    try {
      const reply = await h.deckhand.dispatcher.handle({ id: 't3', user: 'alice', room: '#ops', text: 'deploy web to staging', isDirect: true, adapter: 'test' });
      expect(reply?.text).toMatch(/^Deployment #1 web\/3\.0\.0 to staging queued\./);
      await h.deckhand.runner.idle();
      expect(octopus.callsTo('POST', /\/deployments$/)[0]?.body).toMatchObject({ TenantId: tenant, EnvironmentId: 'Environments-1' });
      expect((await h.store.listDeployments({ app: 'web' }))[0]?.state).toBe('succeeded');
    } finally {
      await h.close();
      await octopus.close();
    }
  });

  test('a wrong API key: 401 from Octopus, a clear chat error, nothing queued', async () => {
    const octopus = await startFakeOctopus();
    const h = await startInProcess({ config: config(), octopus: { url: octopus.url, apiKey: 'API-WRONG', space: 'Spaces-1', webhookHeader: 'X-Deckhand-Secret' } });
    try {
      const reply = await h.deckhand.dispatcher.handle({ id: 't2', user: 'alice', room: '#ops', text: 'deploy web to staging', isDirect: true, adapter: 'test' });
      expect(reply).toMatchObject({
        tone: 'error',
        text: "Octopus refused Deckhand's API key (401): You must be logged in to perform this action. Please provide a valid API key or log in again. Check OCTOPUS_API_KEY and that its user may do this.",
      });
      expect(await h.store.listDeployments({ app: 'web' })).toEqual([]);
      expect(octopus.calls.every((c) => c.headers['x-octopus-apikey'] === 'API-WRONG' && c.status === 401)).toBe(true);
    } finally {
      await h.close();
      await octopus.close();
    }
  });
});
