/**
 * The integrations catalog in reactions/: every file loads, is off until its credentials are set,
 * and, once on, sends exactly the request the service documents (method, path, auth header, JSON
 * body) for the events and filters it is meant for. Each service is a local recording server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot, type Deckhand } from '../../src/app.js';
import { loadReactions, type Reaction } from '../../src/reactions/load-reactions.js';
import { createTemplateEngine } from '../../src/reactions/template.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { finishedStates, type Deployment } from '../../src/core/model.js';
import { startRecordingServer, type RecordedRequest, type RecordingServer } from '../fakes/recording-server.js';
import { testConfig } from '../fixtures/config.js';
import { startInProcess, until } from '../fixtures/in-process.js';

const reactionsDir = path.join(projectRoot, 'reactions');

type Service = 'newrelic' | 'datadog' | 'raygun' | 'grafana' | 'pagerduty' | 'sentry' | 'splunk';

interface CatalogEntry {
  service: Service;
  /** Exactly the variables listed under requires:, in order. */
  requires: string[];
  /** The credentials among them, which may only be used as ${secret.X}. */
  secrets: string[];
}

const catalog: Record<string, CatalogEntry> = {
  'newrelic-deploy-marker.yaml': { service: 'newrelic', requires: ['NEW_RELIC_API_KEY', 'NEW_RELIC_APP_ID'], secrets: ['NEW_RELIC_API_KEY'] },
  'datadog-deployment-event.yaml': { service: 'datadog', requires: ['DATADOG_API_KEY'], secrets: ['DATADOG_API_KEY'] },
  'raygun-deployment.yaml': { service: 'raygun', requires: ['RAYGUN_ACCESS_TOKEN', 'RAYGUN_APP_API_KEY'], secrets: ['RAYGUN_ACCESS_TOKEN', 'RAYGUN_APP_API_KEY'] },
  'grafana-annotation.yaml': { service: 'grafana', requires: ['GRAFANA_URL', 'GRAFANA_TOKEN'], secrets: ['GRAFANA_TOKEN'] },
  'pagerduty-change-event.yaml': { service: 'pagerduty', requires: ['PAGERDUTY_ROUTING_KEY'], secrets: ['PAGERDUTY_ROUTING_KEY'] },
  'sentry-release.yaml': { service: 'sentry', requires: ['SENTRY_AUTH_TOKEN', 'SENTRY_ORG'], secrets: ['SENTRY_AUTH_TOKEN'] },
  'sentry-deploy.yaml': { service: 'sentry', requires: ['SENTRY_AUTH_TOKEN', 'SENTRY_ORG'], secrets: ['SENTRY_AUTH_TOKEN'] },
  'splunk-oncall-alert.yaml': { service: 'splunk', requires: ['SPLUNK_ONCALL_REST_KEY', 'SPLUNK_ONCALL_ROUTING_KEY'], secrets: ['SPLUNK_ONCALL_REST_KEY'] },
  'splunk-oncall-recovery.yaml': { service: 'splunk', requires: ['SPLUNK_ONCALL_REST_KEY', 'SPLUNK_ONCALL_ROUTING_KEY'], secrets: ['SPLUNK_ONCALL_REST_KEY'] },
};
const catalogFiles = Object.keys(catalog);

/** Credentials as the services issue them (shapes only); the Raygun key has characters that need URL-encoding. */
const creds = {
  NEW_RELIC_API_KEY: 'NRAK-TESTKEY0123456789ABCDEFGHI',
  NEW_RELIC_APP_ID: '4242',
  DATADOG_API_KEY: 'dd0123456789abcdef0123456789abcd',
  RAYGUN_ACCESS_TOKEN: 'raygun-pat-0123456789abcdef',
  RAYGUN_APP_API_KEY: 'Rg+app/Key==',
  GRAFANA_TOKEN: 'glsa_grafanatoken0123456789abcdef',
  PAGERDUTY_ROUTING_KEY: '0123456789abcdef0123456789abcdef',
  SENTRY_AUTH_TOKEN: 'sntrys_sentrytoken0123456789abcdef',
  SENTRY_ORG: 'acme',
  SPLUNK_ONCALL_REST_KEY: 'vo-rest-0123-4567-89ab',
  SPLUNK_ONCALL_ROUTING_KEY: 'deploys',
};
const secretValues = [creds.NEW_RELIC_API_KEY, creds.DATADOG_API_KEY, creds.RAYGUN_ACCESS_TOKEN, creds.RAYGUN_APP_API_KEY, creds.GRAFANA_TOKEN, creds.PAGERDUTY_ROUTING_KEY, creds.SENTRY_AUTH_TOKEN, creds.SPLUNK_ONCALL_REST_KEY];

/** testConfig() with an approver for production (bob requests, carol approves). */
const catalogConfig = () => testConfig('', { productionApprovers: ['carol'] });


describe('catalog files, loaded without credentials', () => {
  test('every catalog file is there, and every file in reactions/ loads without problems and is off', () => {
    const files = readdirSync(reactionsDir).filter((f) => /\.ya?ml$/.test(f));
    expect(files).toEqual(expect.arrayContaining(catalogFiles));
    const loaded = loadReactions(reactionsDir, {});
    expect(loaded.reactions).toEqual([]);
    expect(loaded.disabled.map((d) => path.basename(d.file)).sort()).toEqual([...files].sort());
  });

  test.each(catalogFiles)('%s is disabled, and says which variables turn it on', (file) => {
    const entry = catalog[file]!;
    const loaded = loadReactions(reactionsDir, {});
    const disabled = loaded.disabled.find((d) => path.basename(d.file) === file);
    expect(disabled).toEqual({ name: file.replace(/\.yaml$/, ''), file: path.join(reactionsDir, file), reason: `set ${entry.requires.join(', ')} to turn it on` });

    // With all but the last variable set, it names only the missing one.
    const values: Record<string, string> = { ...creds, GRAFANA_URL: 'https://grafana.example' };
    const partial = Object.fromEntries(entry.requires.slice(0, -1).map((v) => [v, values[v]]));
    const stillOff = loadReactions(reactionsDir, partial).disabled.find((d) => path.basename(d.file) === file);
    expect(stillOff?.reason).toBe(`set ${entry.requires.at(-1)} to turn it on`);
  });

  test.each(catalogFiles)('%s: header comment names its variables; credentials only as ${secret.X}', (file) => {
    const entry = catalog[file]!;
    const text = readFileSync(path.join(reactionsDir, file), 'utf8');
    const header = text.slice(0, text.search(/^[a-z]/m));
    expect(header.split('\n').filter(Boolean).every((line) => line.startsWith('#'))).toBe(true);
    for (const variable of entry.requires) expect(header).toContain(variable);
    expect(header).not.toMatch(/https?:\/\/(?!api\.|alert\.|events\.|sentry\.io|de\.sentry\.io|acme\.grafana\.net)/);
    for (const secret of entry.secrets) {
      expect(text).toContain(`\${secret.${secret}}`);
      expect(text).not.toContain(`\${env.${secret}`);
    }
    expect(text).toMatch(/_URL(:-https:\/\/[a-z0-9.-]+)?\}/);
  });
});

describe('catalog files with credentials: the requests they send', () => {
  const servers = {} as Record<Service, RecordingServer>;
  let deckhand: Deckhand;
  let store: SqliteStore;
  let loaded: Reaction[];
  let env: Record<string, string>;

  beforeAll(async () => {
    for (const service of ['newrelic', 'datadog', 'raygun', 'grafana', 'pagerduty', 'sentry', 'splunk'] as const) {
      servers[service] = await startRecordingServer();
    }
    // Each fake answers as its service documents success.
    const json = (status: number, body: unknown) => () => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    servers.newrelic.respond(json(201, { deployment: { id: 321 } }));
    servers.datadog.respond(json(202, { status: 'ok', event: { id: 123 } }));
    servers.raygun.respond(json(201, { identifier: 'd-1' }));
    servers.grafana.respond(json(200, { message: 'Annotation added', id: 1 }));
    servers.pagerduty.respond(json(202, { status: 'success', message: 'Change event processed' }));
    servers.sentry.respond(json(201, { id: '1234567' }));
    servers.splunk.respond(json(200, { result: 'success', entity_id: 'x' }));

    env = {
      ...creds,
      NEW_RELIC_API_URL: servers.newrelic.url,
      NEW_RELIC_DECKHAND_APPS: 'hello',
      DATADOG_API_URL: servers.datadog.url,
      RAYGUN_API_URL: servers.raygun.url,
      GRAFANA_URL: servers.grafana.url,
      PAGERDUTY_API_URL: servers.pagerduty.url,
      SENTRY_API_URL: servers.sentry.url,
      SPLUNK_ONCALL_ALERT_URL: servers.splunk.url,
    };
    const all = loadReactions(reactionsDir, env);
    // Only the catalog runs here (a file someone adds later must not call out from this test).
    loaded = all.reactions.filter((r) => catalogFiles.includes(path.basename(r.file)));
    expect(all.warnings.filter((w) => catalogFiles.some((f) => w.includes(f)))).toEqual([]);

    ({ deckhand, store } = await startInProcess({ config: catalogConfig(), reactions: loaded, listen: false }));
  });

  afterAll(async () => {
    await deckhand?.close();
    for (const server of Object.values(servers)) await server.close();
  });

  const count = () => Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, s.requests.length])) as Record<Service, number>;
  const last = (service: Service): RecordedRequest => {
    const request = servers[service].requests.at(-1);
    if (!request) throw new Error(`${service} received nothing`);
    return request;
  };

  /** Waits until every reaction job has run; a failed one fails the test with its error. */
  async function settle(): Promise<void> {
    await deckhand.runner.idle();
    await until(async () => {
      const jobs = await store.listJobs({ type: 'reaction', limit: 100 });
      const failed = jobs.find((j) => j.lastError !== null);
      if (failed) throw new Error(`reaction job failed: ${failed.lastError}`);
      return jobs.every((j) => j.state === 'done');
    }, 'the reaction jobs');
  }

  /** Deploys as bob (carol approves production), waits for the deployment and its reactions. */
  async function deploy(input: { app: string; environment: string; ref: string; dryRun?: boolean }): Promise<Deployment> {
    const { deployment, approval } = await deckhand.actions.deploy({ id: 'bob' }, input);
    if (approval) await deckhand.actions.decideApproval({ id: 'carol' }, { deploymentId: deployment.id, decision: 'approve' });
    let done: Deployment | null = null;
    await until(async () => {
      done = await store.getDeployment(deployment.id);
      return done !== null && finishedStates.includes(done.state);
    }, `deployment #${deployment.id}`);
    await settle();
    return done!;
  }

  const json = { 'content-type': 'application/json' };

  test('with credentials set, every catalog file is on, and its secrets are known for redaction', () => {
    expect(loaded.map((r) => path.basename(r.file)).sort()).toEqual([...catalogFiles].sort());
    for (const reaction of loaded) {
      for (const secret of catalog[path.basename(reaction.file)]!.secrets) expect(reaction.secrets).toContain(creds[secret as keyof typeof creds]);
    }
  });

  test('a staging success: Datadog, Grafana and a Sentry deploy; nothing for production-only services', async () => {
    const before = count();
    const d = await deploy({ app: 'hello', environment: 'staging', ref: '1.4.1' });
    expect(d.state).toBe('succeeded');
    expect(count()).toEqual({ ...before, datadog: before.datadog + 1, grafana: before.grafana + 1, sentry: before.sentry + 2 });

    const dd = last('datadog');
    expect([dd.method, dd.path]).toEqual(['POST', '/api/v1/events']);
    expect(dd.headers).toMatchObject({ 'dd-api-key': creds.DATADOG_API_KEY, ...json });
    expect(dd.json).toEqual({
      title: 'Deployed: hello 1.4.1 to staging',
      text: `Deployment #${d.id} of hello 1.4.1 to staging, requested by bob, succeeded.`,
      alert_type: 'success',
      tags: ['app:hello', 'env:staging', `deployment_id:${d.id}`],
      source_type_name: 'my_apps',
      aggregation_key: `deckhand-deployment-${d.id}`,
      priority: 'normal',
    });

    const grafana = last('grafana');
    expect([grafana.method, grafana.path]).toEqual(['POST', '/api/annotations']);
    expect(grafana.headers).toMatchObject({ authorization: `Bearer ${creds.GRAFANA_TOKEN}`, ...json });
    // Epoch milliseconds, as numbers: the deployment's start and finish.
    expect(grafana.json).toEqual({
      time: Date.parse(d.startedAt!),
      timeEnd: Date.parse(d.finishedAt!),
      tags: ['deploy', 'deckhand', 'hello', 'staging', 'succeeded'],
      text: `Deployed: hello 1.4.1 to staging by bob (deployment #${d.id})`,
    });

    const [release, deployRecord] = servers.sentry.requests.slice(-2) as [RecordedRequest, RecordedRequest];
    for (const r of [release, deployRecord]) expect(r.headers).toMatchObject({ authorization: `Bearer ${creds.SENTRY_AUTH_TOKEN}`, ...json });
    expect([release.method, release.path]).toEqual(['POST', '/api/0/organizations/acme/releases/']);
    expect(release.json).toEqual({ version: 'hello@1.4.1', projects: ['hello'], ref: '1.4.1' });
    expect([deployRecord.method, deployRecord.path]).toEqual(['POST', '/api/0/organizations/acme/releases/hello%401.4.1/deploys/']);
    expect(deployRecord.json).toEqual({ environment: 'staging', name: `deckhand-${d.id}`, dateStarted: d.startedAt, dateFinished: d.finishedAt });
  });

  test('a staging failure: Datadog error and Grafana; Splunk On-Call and PagerDuty get nothing', async () => {
    const before = count();
    const d = await deploy({ app: 'hello', environment: 'staging', ref: 'fail-staging' });
    expect(d.state).toBe('failed');
    expect(count()).toEqual({ ...before, datadog: before.datadog + 1, grafana: before.grafana + 1 });
    expect(last('datadog').json).toMatchObject({ title: 'Deploy failed: hello fail-staging to staging', alert_type: 'error', tags: ['app:hello', 'env:staging', `deployment_id:${d.id}`] });
    expect((last('datadog').json as { text: string }).text).toBe(`Deployment #${d.id} of hello fail-staging to staging, requested by bob, failed: ${d.reason}.`);
    expect(last('grafana').json).toMatchObject({ tags: ['deploy', 'deckhand', 'hello', 'staging', 'failed'] });
  });

  test('a production failure opens a Splunk On-Call incident and sends a PagerDuty change event', async () => {
    const before = count();
    const d = await deploy({ app: 'hello', environment: 'production', ref: 'fail-1.4.2' });
    expect(d.state).toBe('failed');
    expect(count()).toEqual({ ...before, datadog: before.datadog + 1, grafana: before.grafana + 1, pagerduty: before.pagerduty + 1, splunk: before.splunk + 1 });

    const vo = last('splunk');
    expect([vo.method, vo.path]).toEqual(['POST', `/integrations/generic/20131114/alert/${creds.SPLUNK_ONCALL_REST_KEY}/deploys`]);
    expect(vo.headers).toMatchObject(json);
    expect(vo.json).toEqual({
      message_type: 'CRITICAL',
      entity_id: 'deckhand/hello/production',
      entity_display_name: 'Deployment of hello to production failed',
      state_message: `Deployment #${d.id} of hello fail-1.4.2 to production, requested by bob, failed: ${d.reason}.`,
      monitoring_tool: 'deckhand',
      app: 'hello',
      environment: 'production',
      ref: 'fail-1.4.2',
      deployment_id: String(d.id),
      requested_by: 'bob',
    });

    const pd = last('pagerduty');
    expect([pd.method, pd.path]).toEqual(['POST', '/v2/change/enqueue']);
    expect(pd.headers).toMatchObject(json);
    expect(pd.headers.authorization).toBeUndefined();
    expect(pd.json).toEqual({
      routing_key: creds.PAGERDUTY_ROUTING_KEY,
      payload: {
        summary: 'Deploy failed: hello fail-1.4.2 to production by bob',
        source: 'deckhand',
        timestamp: d.finishedAt,
        custom_details: { app: 'hello', environment: 'production', ref: 'fail-1.4.2', result: 'failed', reason: d.reason, deployment_id: String(d.id), requested_by: 'bob' },
      },
    });
  });

  test('a production success: New Relic, Raygun, PagerDuty, Sentry (208 counts as success) and a Splunk On-Call recovery', async () => {
    // The release already exists in Sentry: 208, and the deploy is recorded all the same.
    servers.sentry.respond((r) => ({ status: r.path.endsWith('/releases/') ? 208 : 201, headers: { 'content-type': 'application/json' }, body: '{}' }));
    const before = count();
    const d = await deploy({ app: 'hello', environment: 'production', ref: '1.4.2' });
    expect(d.state).toBe('succeeded');
    expect(count()).toEqual({
      newrelic: before.newrelic + 1,
      datadog: before.datadog + 1,
      raygun: before.raygun + 1,
      grafana: before.grafana + 1,
      pagerduty: before.pagerduty + 1,
      sentry: before.sentry + 2,
      splunk: before.splunk + 1,
    });

    const nr = last('newrelic');
    expect([nr.method, nr.path]).toEqual(['POST', '/v2/applications/4242/deployments.json']);
    expect(nr.headers).toMatchObject({ 'x-api-key': creds.NEW_RELIC_API_KEY, ...json });
    expect(nr.json).toEqual({ deployment: { revision: '1.4.2', description: `Deckhand deployed hello 1.4.2 to production (deployment #${d.id})`, user: 'bob' } });

    const rg = last('raygun');
    expect([rg.method, rg.path]).toEqual(['POST', `/v3/applications/api-key/${encodeURIComponent(creds.RAYGUN_APP_API_KEY)}/deployments`]);
    expect(rg.path).toContain('Rg%2Bapp%2FKey%3D%3D');
    expect(rg.headers).toMatchObject({ authorization: `Bearer ${creds.RAYGUN_ACCESS_TOKEN}`, ...json });
    expect(rg.json).toEqual({ version: '1.4.2', ownerName: 'bob', comment: `Deployed hello 1.4.2 to production with Deckhand (deployment #${d.id}).`, deployedAt: d.finishedAt });
    expect(Number.isNaN(Date.parse((rg.json as { deployedAt: string }).deployedAt))).toBe(false);

    expect(last('pagerduty').json).toMatchObject({
      routing_key: creds.PAGERDUTY_ROUTING_KEY,
      payload: { summary: 'Deployed: hello 1.4.2 to production by bob', custom_details: { result: 'succeeded', reason: '' } },
    });

    expect(servers.sentry.requests.slice(-2).map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/0/organizations/acme/releases/',
      'POST /api/0/organizations/acme/releases/hello%401.4.2/deploys/',
    ]);
    expect(last('sentry').json).toEqual({ environment: 'production', name: `deckhand-${d.id}`, dateStarted: d.startedAt, dateFinished: d.finishedAt });

    const vo = last('splunk');
    expect(vo.path).toBe(`/integrations/generic/20131114/alert/${creds.SPLUNK_ONCALL_REST_KEY}/deploys`);
    // The same entity as the failure's incident, so this resolves it.
    expect(vo.json).toMatchObject({ message_type: 'RECOVERY', entity_id: 'deckhand/hello/production', monitoring_tool: 'deckhand', deployment_id: String(d.id) });
    servers.sentry.respond(() => ({ status: 201, headers: { 'content-type': 'application/json' }, body: '{}' }));
  });

  test('dry runs send nothing, anywhere', async () => {
    const before = count();
    const ok = await deploy({ app: 'hello', environment: 'production', ref: '9.9.9', dryRun: true });
    const failed = await deploy({ app: 'hello', environment: 'production', ref: 'fail-dry', dryRun: true });
    expect([ok.state, failed.state]).toEqual(['succeeded', 'failed']);
    expect(count()).toEqual(before);
  });

  test('app filters: NEW_RELIC_DECKHAND_APPS=hello keeps api out of New Relic; a ref with "/" is not a Sentry release', async () => {
    const before = count();
    const d = await deploy({ app: 'api', environment: 'production', ref: 'release/2.0' });
    expect(d.state).toBe('succeeded');
    // PagerDuty and Raygun cover every app by default; Sentry skips the branch-like ref.
    expect(count()).toEqual({ ...before, datadog: before.datadog + 1, grafana: before.grafana + 1, raygun: before.raygun + 1, pagerduty: before.pagerduty + 1, splunk: before.splunk + 1 });
    expect(last('raygun').json).toMatchObject({ version: 'release/2.0' });
    expect(last('splunk').json).toMatchObject({ message_type: 'RECOVERY', entity_id: 'deckhand/api/production' });
  });

  test('release.created creates the Sentry release, named <app>@<version>', async () => {
    const before = count();
    await deckhand.actions.createRelease({ id: 'alice' }, { app: 'hello', version: '1.5.0', notes: 'Faster greetings' });
    await until(() => servers.sentry.requests.length > before.sentry, 'the Sentry release');
    await settle();
    expect(count()).toEqual({ ...before, sentry: before.sentry + 1 });
    const r = last('sentry');
    expect([r.method, r.path]).toEqual(['POST', '/api/0/organizations/acme/releases/']);
    expect(r.headers).toMatchObject({ authorization: `Bearer ${creds.SENTRY_AUTH_TOKEN}`, ...json });
    expect(r.json).toEqual({ version: 'hello@1.5.0', projects: ['hello'] });
  });

  test('no secret is in any body, except the PagerDuty routing key, which that API wants there', () => {
    for (const [service, server] of Object.entries(servers)) {
      for (const request of server.requests) {
        const allowed = service === 'pagerduty' ? [creds.PAGERDUTY_ROUTING_KEY] : [];
        for (const secret of secretValues.filter((s) => !allowed.includes(s))) expect(request.body).not.toContain(secret);
      }
    }
    for (const request of servers.pagerduty.requests) {
      const { routing_key: _key, ...rest } = request.json as { routing_key: string };
      expect(JSON.stringify(rest)).not.toContain(creds.PAGERDUTY_ROUTING_KEY);
    }
  });

  test('the Grafana body, written as JSON text, stays valid JSON whatever the event holds', () => {
    const grafana = loaded.find((r) => r.name === 'grafana-annotation')!;
    const action = grafana.do[0]!;
    if (!('http' in action) || action.http.body === undefined) throw new Error('expected an http action with a body');
    const hostile = 'eve "}, "tags": ["x"], "z": {"\\\n</script>';
    const text = createTemplateEngine().render(action.http.body, {
      event: { type: 'deployment.failed', at: '2026-01-02T03:04:05.678Z' },
      app: 'hello',
      environment: 'staging',
      deployment: { id: 7, app: 'hello', environment: 'staging', ref: 'v1', state: 'failed', requestedBy: hostile, reason: hostile, startedAt: null, finishedAt: '2026-01-02T03:04:05.678Z' },
    });
    const body = JSON.parse(text) as { time: number; timeEnd: number; tags: string[]; text: string };
    expect(body.time).toBe(Date.parse('2026-01-02T03:04:05.678Z'));
    expect(body.timeEnd).toBe(body.time);
    expect(body.tags).toEqual(['deploy', 'deckhand', 'hello', 'staging', 'failed']);
    expect(body.text).toBe(`Deploy failed: hello v1 to staging by ${hostile} (deployment #7): ${hostile}`);
  });
});
