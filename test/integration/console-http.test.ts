import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import { createDeckhand, projectRoot, type Deckhand } from '../../src/app.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { createOperatorToken, revokeOperatorToken } from '../../src/operators/operator-tokens.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startRecordingServer, type RecordingServer } from '../fakes/recording-server.js';
import { testConfig } from '../fixtures/config.js';
import { until } from '../fixtures/in-process.js';
import { slackBotTeam } from '../../src/console/slack-oidc.js';
import { startFakeSlackOidc, type FakeSlackOidc } from '../fakes/slack/oidc-server.js';
import { ConsoleClient } from './console-client.js';

const secret = 'console-test-secret-0123456789abcdef-xyz';
const roles = `  operators: { members: [], may: [read:deliveries, read:jobs, read:audit, operate:deliveries, operate:jobs, lock:*, deploy:staging, approve:production] }
  viewers: { members: [], may: [read:deliveries, read:jobs, read:audit] }
  slackers: { members: [U0SLACKOPS], may: [lock:staging] }
`;

/** The console over HTTP (no browser): sessions, CSRF, permissions, hostile input, Slack sign-in. */
describe('the web console over HTTP', () => {
  let deckhand: Deckhand;
  let store: SqliteStore;
  let base: string;
  let slack: FakeSlackOidc;
  let receiver: RecordingServer;
  let opsToken: string;
  let viewerToken: string;

  beforeAll(async () => {
    slack = await startFakeSlackOidc();
    receiver = await startRecordingServer();
    // One reaction on (it tells the receiver of every deployment), one off for want of its variable.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-console-reactions-'));
    mkdirSync(path.join(dir, 'reactions'));
    writeFileSync(path.join(dir, 'reactions', 'ping.yaml'), `description: Tells the receiver
on: { event: deployment.succeeded }
do:
  - http: { method: POST, url: "${receiver.url}/hook", json: { ref: "{{ deployment.ref }}" } }
`);
    writeFileSync(path.join(dir, 'reactions', 'summary.yaml'), `requires: [SUMMARY_CHANNEL]
on: { schedule: "0 9 * * *" }
do:
  - chat: { channel: "\${env.SUMMARY_CHANNEL}", text: hi }
`);
    const loaded = loadReactions(path.join(dir, 'reactions'), {});
    // It refuses (400, permanent: the run is dead at once) the deployments of one ref.
    receiver.respond((req) => {
      if (req.path === '/slack-api/auth.test') return { status: 200, body: JSON.stringify(req.headers.authorization === 'Bearer xoxb-console-test' ? { ok: true, team_id: 'T0FAKETEAM', user_id: 'UBOT' } : { ok: false, error: 'invalid_auth' }) };
      return (req.json as { ref?: string } | undefined)?.ref === 'refused-ref' ? { status: 400, body: '{"error":"no such app"}' } : { status: 200, body: '{}' };
    });
    store = new SqliteStore(':memory:');
    await store.migrate();
    deckhand = await createDeckhand({
      config: testConfig(roles),
      store,
      logger: silentLogger,
      dataDir: mkdtempSync(path.join(os.tmpdir(), 'deckhand-console-')),
      commandsDir: path.join(projectRoot, 'commands'),
      jobPollMs: 20,
      publicUrl: () => base,
      reactions: loaded.reactions,
      reactionsBaseDir: dir,
      // The bot's workspace as auth.test tells it (slackBotTeam), asked of a fake Slack Web API.
      console: { secret, slack: { clientId: slack.clientId, clientSecret: slack.clientSecret, baseUrl: slack.url, team: slackBotTeam('xoxb-console-test', `${receiver.url}/slack-api/`) }, disabledReactions: loaded.disabled },
    });
    base = await deckhand.http.listen({ port: 0, host: '127.0.0.1' });
    slack.allowRedirect(`${base}/console/auth/slack/callback`);
    deckhand.startBackground();
    opsToken = (await createOperatorToken(store, systemClock, { name: 'ops', role: 'operators' })).token;
    viewerToken = (await createOperatorToken(store, systemClock, { name: 'viewer', role: 'viewers' })).token;
  });
  afterAll(async () => {
    await deckhand?.close();
    await slack?.close();
    await receiver?.close();
  });

  /** A job of a type no handler knows, allowed one attempt: the worker makes it dead. */
  async function deadDelivery(body: unknown, headers: Record<string, string> = {}): Promise<{ deliveryId: number; jobId: number }> {
    const now = new Date().toISOString();
    const { delivery } = await store.acceptDelivery(
      { source: 'trigger:broken', deliveryId: `d-${Math.random()}`, receivedAt: now, contentType: 'application/json', headers, query: {}, body },
      { type: 'no-such-handler', runAt: now, maxAttempts: 1 },
    );
    let jobId = 0;
    await until(async () => {
      const page = await store.listDeliveries({ cursor: delivery.id + 1, limit: 1 });
      jobId = page.deliveries[0]?.job?.id ?? 0;
      return page.deliveries[0]?.outcome === 'dead';
    }, 'the dead job');
    return { deliveryId: delivery.id, jobId };
  }

  test('signed out, every page sends you to sign in; a POST is 401', async () => {
    const client = new ConsoleClient(base);
    for (const page of ['/console', '/console/deployments', '/console/jobs?state=dead', '/console/audit']) {
      const res = await client.get(page);
      expect(res.status).toBe(303);
      expect(res.location).toBe(page === '/console' ? '/console/sign-in' : '/console/sign-in');
    }
    expect((await client.post('/console/locks/take', { environment: 'staging' })).status).toBe(401);
    expect(await store.listLocks()).toEqual([]);
  });

  test('an operator token signs in: a signed, HttpOnly, SameSite=Lax cookie with an expiry; a wrong token does not', async () => {
    const client = new ConsoleClient(base);
    await client.get('/console/sign-in');
    const wrong = await client.post('/console/sign-in', { token: 'dho_not-a-real-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That token is unknown, revoked or expired.');
    await client.get('/console/sign-in');
    const ok = await client.post('/console/sign-in', { token: opsToken });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe('/console/deployments');
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('deckhand_session='));
    expect(cookie).toMatch(/; Max-Age=28800/);
    expect(cookie).toMatch(/; Path=\/console/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    const page = await client.get('/console/deployments');
    expect(page.status).toBe(200);
    expect(page.text).toContain('token:ops');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await store.listAudit({ action: 'console.sign-in' }))[0]).toMatchObject({ actor: 'token:ops', outcome: 'ok' });
  });

  test('a POST without the CSRF token, or with another browser\'s, is refused (403) and changes nothing', async () => {
    const mine = new ConsoleClient(base);
    await mine.signIn(opsToken);
    const theirs = new ConsoleClient(base);
    await theirs.signIn(opsToken);
    await theirs.get('/console/locks');

    await mine.get('/console/locks');
    expect((await mine.post('/console/locks/take', { environment: 'staging' }, { csrf: null })).status).toBe(403);
    expect((await mine.post('/console/locks/take', { environment: 'staging' }, { csrf: theirs.csrf() })).status).toBe(403);
    expect((await mine.post('/console/locks/take', { environment: 'staging' }, { csrf: 'forged-token' })).status).toBe(403);
    // Forms only: a JSON body is refused even with a good token (scripts use /api/v1).
    expect((await mine.post('/console/locks/take', {}, { contentType: 'application/json', body: JSON.stringify({ environment: 'staging', _csrf: mine.csrf() }) })).status).toBe(415);
    expect((await mine.post('/console/locks/take', {}, { contentType: 'text/plain', body: `environment=staging&_csrf=${mine.csrf()}` })).status).toBe(415);
    expect(await store.listLocks()).toEqual([]);

    const done = await mine.post('/console/locks/take', { environment: 'staging', reason: 'db migration' });
    expect(done.status).toBe(303);
    expect((await mine.get('/console/locks')).text).toContain('Locked staging.');
    expect(await store.listLocks()).toMatchObject([{ environment: 'staging', holder: 'token:ops', reason: 'db migration' }]);
    await mine.get('/console/locks');
    expect((await mine.post('/console/locks/release', { environment: 'staging' })).status).toBe(303);
    expect(await store.listLocks()).toEqual([]);
  });

  test('a forged, tampered, expired or foreign-signed session cookie is no session', async () => {
    const real = new ConsoleClient(base);
    await real.signIn(viewerToken);
    const value = decodeURIComponent(real.cookies.get('deckhand_session') ?? '');
    const [payload = '', signature = ''] = value.split('.');
    const session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(session).toMatchObject({ id: 'token:viewer', roles: ['viewers'], via: 'token' });

    const encode = (s: object) => Buffer.from(JSON.stringify(s)).toString('base64url');
    const attempts = {
      // The viewer makes itself an operator, keeping the old signature.
      tampered: `${encode({ ...session, roles: ['operators'] })}.${signature}`,
      unsigned: encode({ ...session, roles: ['operators'] }),
      foreignSecret: fastifyCookie.sign(encode({ ...session, roles: ['operators'] }), 'some-other-secret-0123456789abcdef'),
      expired: fastifyCookie.sign(encode({ ...session, exp: Date.now() - 1000 }), secret),
      garbage: fastifyCookie.sign('not json at all', secret),
      wrongShape: fastifyCookie.sign(encode({ id: '', via: 'root', exp: 'never' }), secret),
    };
    for (const [what, cookie] of Object.entries(attempts)) {
      const client = new ConsoleClient(base);
      client.cookies.set('deckhand_session', encodeURIComponent(cookie));
      const res = await client.get('/console/jobs');
      expect({ what, status: res.status, location: res.location }).toEqual({ what, status: 303, location: '/console/sign-in' });
    }
    // The same signing with the right secret and a future expiry is a session (so the refusals above are for their reasons).
    const client = new ConsoleClient(base);
    client.cookies.set('deckhand_session', encodeURIComponent(fastifyCookie.sign(encode({ ...session, exp: Date.now() + 60_000 }), secret)));
    expect((await client.get('/console/jobs')).status).toBe(200);
  });

  test('revoking the token ends the sessions it signed in, at once', async () => {
    const { token } = await createOperatorToken(store, systemClock, { name: 'temp', role: 'operators' });
    const client = new ConsoleClient(base);
    await client.signIn(token);
    expect((await client.get('/console/jobs')).status).toBe(200);
    await revokeOperatorToken(store, systemClock, 'temp');
    const after = await client.get('/console/jobs');
    expect(after.status).toBe(303);
    expect(after.location).toBe('/console/sign-in');
  });

  test('sign out ends the session', async () => {
    const client = new ConsoleClient(base);
    await client.signIn(viewerToken);
    await client.get('/console/deployments');
    expect((await client.post('/console/sign-out')).location).toBe('/console/sign-in');
    expect((await client.get('/console/deployments')).status).toBe(303);
  });

  test('hostile query parameters, ids and forms: a 4xx page or a normal one, never a 5xx', async () => {
    const client = new ConsoleClient(base);
    await client.signIn(opsToken);
    const pages = [
      '/console/deployments?before=-1',
      '/console/deployments?before=1e400',
      '/console/deployments?before=abc',
      '/console/deployments?state=%3Cscript%3E',
      '/console/deployments?app=a&app=b',
      '/console/deployments?app=%00%01',
      `/console/deployments?who=${'x'.repeat(5000)}`,
      '/console/deployments?who=%3Cimg%20src%3Dx%3E',
      '/console/deployments/abc',
      '/console/deployments/99999999999999999999999',
      '/console/deployments/0',
      '/console/deployments/424242',
      '/console/deliveries?cursor=-5',
      '/console/deliveries?outcome=exploded',
      '/console/deliveries/1e5',
      '/console/deliveries/999999',
      '/console/jobs?state=%27%20OR%201%3D1--',
      '/console/jobs/..%2F..%2Fetc%2Fpasswd',
      '/console/audit?since=2026-13-45',
      '/console/audit?since=%3Cscript%3E&until=tomorrow',
      '/console/audit?actor[]=x',
      '/console/audit?before=NaN',
      '/console/no-such-page',
      '/console/auth/slack/callback?code[]=1&state=2',
    ];
    for (const page of pages) {
      const res = await client.get(page);
      expect({ page, fine: res.status < 500 }).toEqual({ page, fine: true });
      expect(res.text).not.toMatch(/<script|<img src=x>/i);
    }
    expect((await client.get('/console/deployments?state=%3Cscript%3E')).status).toBe(400);
    expect((await client.get('/console/deployments/424242')).status).toBe(404);
    await client.get('/console/locks');
    const forms: Array<[string, Record<string, string>]> = [
      ['/console/locks/take', { environment: 'x'.repeat(1000) }],
      ['/console/locks/take', { environment: 'nowhere' }],
      ['/console/locks/take', { environment: 'staging', takeover: 'maybe' }],
      ['/console/locks/release', { environment: 'staging' }],
      ['/console/approvals/abc', { decision: 'approve' }],
      ['/console/approvals/1', { decision: 'sudo' }],
      ['/console/jobs/999999/retry', {}],
      ['/console/deliveries/999999/replay', {}],
      ['/console/deployments/999999/redeploy', {}],
    ];
    for (const [action, fields] of forms) {
      await client.get('/console/locks');
      const res = await client.post(action, fields);
      expect({ action, fields, status: res.status >= 400 && res.status < 500 ? '4xx' : res.status }).toEqual({ action, fields, status: '4xx' });
    }
    const huge = await client.post('/console/locks/take', {}, { body: `environment=staging&reason=${'y'.repeat(200_000)}` });
    expect(huge.status).toBe(413);
  });

  test('a stored payload is shown as text with secrets masked, never as HTML', async () => {
    const client = new ConsoleClient(base);
    await client.signIn(opsToken);
    const { deliveryId } = await deadDelivery(
      { title: '<script>alert(document.cookie)</script>', nested: { '<b>key</b>': '<img src=x onerror=alert(1)>' } },
      { 'x-hub-signature-256': 'sha256=abcdef0123456789', authorization: 'Bearer top-secret-value', 'user-agent': '<svg onload=alert(1)>' },
    );
    const page = await client.get(`/console/deliveries/${deliveryId}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('<script>alert');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).not.toContain('<svg onload');
    expect(page.text).toContain('&lt;script&gt;alert(document.cookie)&lt;/script&gt;');
    expect(page.text).not.toContain('top-secret-value');
    expect(page.text).not.toContain('abcdef0123456789');
    expect(page.text).toContain('&quot;authorization&quot;: &quot;***&quot;');
    // Another system's deployment URLs are links only when they are http(s).
    const mirrored = await store.createDeployment({
      app: 'hello', environment: 'staging', ref: '<b>v1</b>', provider: 'external:github', source: 'webhook', requestedBy: 'github:<i>x</i>', createdAt: new Date().toISOString(),
      external: { system: 'github', id: '1', url: 'javascript:alert(1)', logUrl: 'javascript:alert(2)' },
    });
    const shown = await client.get(`/console/deployments/${mirrored.id}`);
    expect(shown.status).toBe(200);
    expect(shown.text).not.toMatch(/href="javascript:/i);
    expect(shown.text).toContain('javascript:alert(1)');
    expect(shown.text).toContain('&lt;b&gt;v1&lt;/b&gt;');
    expect(shown.text).not.toContain('<i>x</i>');
    const list = await client.get('/console/deliveries?outcome=dead');
    expect(list.text).toContain(`/console/deliveries/${deliveryId}`);
    expect(list.text).toContain('no handler for job type');
  });

  test('without operate:jobs there is no Retry button, and the POST behind it is 403 (audited); with it, the job runs again', async () => {
    const { jobId } = await deadDelivery({ n: 1 });
    const viewer = new ConsoleClient(base);
    await viewer.signIn(viewerToken);
    const viewerPage = await viewer.get('/console/jobs?state=dead');
    expect(viewerPage.text).toContain(`data-job="${jobId}"`);
    expect(viewerPage.text).not.toContain('Retry');
    const refused = await viewer.post(`/console/jobs/${jobId}/retry`);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('it needs operate:jobs');
    expect((await store.getJob(jobId))?.state).toBe('dead');
    expect((await store.listAudit({ actor: 'token:viewer', action: 'job.retry' }))[0]).toMatchObject({ outcome: 'denied' });
    // Replay needs operate:deliveries, which the viewer lacks too.
    const delivery = (await viewer.get('/console/deliveries?outcome=dead')).text;
    expect(delivery).not.toContain('Replay');

    const ops = new ConsoleClient(base);
    await ops.signIn(opsToken);
    const opsPage = await ops.get('/console/jobs?state=dead');
    expect(opsPage.text).toContain(`action="/console/jobs/${jobId}/retry"`);
    expect((await ops.post(`/console/jobs/${jobId}/retry`)).status).toBe(303);
    // It ran again (and, with no handler for its type, died again: a second attempt is counted).
    await until(async () => (await store.getJob(jobId))?.attempts === 2 && (await store.getJob(jobId))?.state === 'dead', 'the second attempt');
    expect((await store.listAudit({ actor: 'token:ops', action: 'job.retry' }))[0]).toMatchObject({ outcome: 'ok', target: `job #${jobId}` });
  });

  test('Replay makes a new job for the delivery (audited); refused while one is still to run', async () => {
    const { deliveryId, jobId } = await deadDelivery({ n: 2 });
    const ops = new ConsoleClient(base);
    await ops.signIn(opsToken);
    const page = await ops.get(`/console/deliveries/${deliveryId}`);
    expect(page.text).toContain(`action="/console/deliveries/${deliveryId}/replay"`);
    const replayed = await ops.post(`/console/deliveries/${deliveryId}/replay`);
    expect(replayed.status).toBe(303);
    expect(replayed.location).toBe(`/console/deliveries/${deliveryId}`);
    const [after] = (await store.listDeliveries({ cursor: deliveryId + 1, limit: 1 })).deliveries;
    expect(after).toMatchObject({ jobs: 2, job: { type: 'no-such-handler' } });
    expect(after?.job?.id).not.toBe(jobId);
    // The new job is still to run (it has five attempts, backing off): a second Replay now is refused.
    expect(['pending', 'running']).toContain(after?.outcome);
    await ops.get(`/console/deliveries/${deliveryId}`);
    const again = await ops.post(`/console/deliveries/${deliveryId}/replay`);
    expect(again.status).toBe(409);
    expect(again.text).toContain('is being processed');
    expect((await store.listAudit({ action: 'delivery.replay' }))[0]).toMatchObject({ actor: 'token:ops', outcome: 'ok', target: `delivery #${deliveryId}` });
  });

  test('deploy buttons go through the action layer with the same checks as chat', async () => {
    const viewer = new ConsoleClient(base);
    await viewer.signIn(viewerToken);
    const ops = new ConsoleClient(base);
    await ops.signIn(opsToken);
    const actor = { id: 'alice' };
    const { deployment } = await deckhand.actions.deploy(actor, { app: 'hello', environment: 'staging', ref: 'v1', dryRun: true });
    await until(async () => (await store.getDeployment(deployment.id))?.state === 'succeeded', 'the first deployment');
    const viewerPage = await viewer.get(`/console/deployments/${deployment.id}`);
    expect(viewerPage.text).not.toContain('/redeploy');
    expect((await viewer.post(`/console/deployments/${deployment.id}/redeploy`)).status).toBe(403);

    const opsPage = await ops.get(`/console/deployments/${deployment.id}`);
    expect(opsPage.text).toContain(`/console/deployments/${deployment.id}/redeploy`);
    expect(opsPage.text).toMatch(/deployment\.queued[\s\S]*deployment\.started[\s\S]*deployment\.succeeded/);
    expect(opsPage.text).toContain(`/deployments/${deployment.id}/log?token=`);
    const again = await ops.post(`/console/deployments/${deployment.id}/redeploy`);
    expect(again.status).toBe(303);
    const [latest] = await store.listDeployments({ app: 'hello', limit: 1 });
    expect(latest).toMatchObject({ ref: 'v1', environment: 'staging', requestedBy: 'token:ops' });
    expect(again.location).toBe(`/console/deployments/${latest!.id}`);
    // A lock refuses it, as in chat: a 409 page saying who holds it.
    await deckhand.actions.lock({ id: 'bob' }, { environment: 'staging', reason: 'freeze' });
    await ops.get(`/console/deployments/${deployment.id}`);
    const locked = await ops.post(`/console/deployments/${deployment.id}/redeploy`);
    expect(locked.status).toBe(409);
    expect(locked.text).toContain('staging is locked by bob');
    await deckhand.actions.unlock({ id: 'bob' }, { environment: 'staging' });
  });

  test('approvals: the approver sees Approve/Deny and approving starts the deployment; others see no buttons and get 403', async () => {
    const { deployment, approval } = await deckhand.actions.deploy({ id: 'bob' }, { app: 'hello', environment: 'production', ref: 'v2' });
    expect(approval?.state).toBe('pending');
    const viewer = new ConsoleClient(base);
    await viewer.signIn(viewerToken);
    const viewerPage = await viewer.get('/console/locks');
    expect(viewerPage.text).toContain(`#${deployment.id} hello/v2 to production`);
    expect(viewerPage.text).not.toContain(`action="/console/approvals/${deployment.id}"`);
    const refused = await viewer.post(`/console/approvals/${deployment.id}`, { decision: 'approve' });
    expect(refused.status).toBe(403);

    const ops = new ConsoleClient(base);
    await ops.signIn(opsToken);
    expect((await ops.get('/console/locks')).text).toContain(`action="/console/approvals/${deployment.id}"`);
    const approved = await ops.post(`/console/approvals/${deployment.id}`, { decision: 'approve' });
    expect(approved.status).toBe(303);
    expect(approved.location).toBe(`/console/deployments/${deployment.id}`);
    expect((await ops.get(approved.location ?? '')).text).toContain(`Deployment #${deployment.id} approved.`);
    expect(await store.approvalForDeployment(deployment.id)).toMatchObject({ state: 'approved', decidedBy: 'token:ops' });
    await until(async () => (await store.getDeployment(deployment.id))?.state === 'succeeded', 'the approved deployment');
    // A second click: already decided, a 409 saying by whom.
    await ops.get(`/console/deployments/${deployment.id}`);
    const again = await ops.post(`/console/approvals/${deployment.id}`, { decision: 'deny' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('already approved by token:ops');
  });

  test('reactions: each with its trigger, last runs and failure; the ones that are off, and why', async () => {
    await deckhand.actions.deploy({ id: 'alice' }, { app: 'hello', environment: 'staging', ref: 'refused-ref', dryRun: true });
    await until(async () => (await store.listJobs({ type: 'reaction', state: 'dead' })).length === 1, 'the dead reaction run');
    const ops = new ConsoleClient(base);
    await ops.signIn(opsToken);
    const page = (await ops.get('/console/reactions')).text;
    const row = (name: string) => new RegExp(`<tr><td><strong>${name}</strong>[\\s\\S]*?</tr>`).exec(page)?.[0] ?? '';
    expect(row('ping')).toContain('event deployment.succeeded');
    expect(row('ping')).toContain('state-on');
    expect(row('ping')).toContain('state-dead');
    expect(row('ping')).toMatch(/400/);
    expect(row('summary')).toContain('state-off');
    expect(row('summary')).toContain('set SUMMARY_CHANNEL to turn it on');
    // The failure's text is for those who may read jobs.
    const slackless = new ConsoleClient(base);
    slackless.cookies.set('deckhand_session', encodeURIComponent(fastifyCookie.sign(Buffer.from(JSON.stringify({ id: 'nobody', via: 'slack', exp: Date.now() + 60_000 })).toString('base64url'), secret)));
    const plain = (await slackless.get('/console/reactions')).text;
    expect(plain).toContain('the error needs read:jobs');
    expect(plain).not.toMatch(/answered 400|: 400/);
  });

  test('filters narrow the deployments list, and the pager follows the filter', async () => {
    const client = new ConsoleClient(base);
    await client.signIn(viewerToken);
    // 70 of carol's among 140 (dave's in between): the who filter reads past dave's to fill its pages.
    for (let i = 0; i < 140; i++) {
      await store.createDeployment({ app: 'api', environment: 'production', ref: `p${i}`, provider: 'script', source: 'chat', requestedBy: i % 2 ? 'carol' : 'dave', createdAt: new Date().toISOString() });
    }
    const rows = (text: string) => [...text.matchAll(/<tr><td><a href="\/console\/deployments\/\d+">#\d+<\/a><\/td><td>(\w+)<\/td><td>(\w+)<\/td><td><code>(\w+)<\/code><\/td>.*?<td>(\w+)<\/td><td>chat<\/td>/g)].map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
    const first = await client.get('/console/deployments?app=api&environment=production&who=carol');
    const firstRows = rows(first.text);
    expect(firstRows).toHaveLength(50);
    expect(firstRows[0]).toBe('api production p139 carol');
    expect(firstRows.every((r) => r.endsWith(' carol'))).toBe(true);
    const next = /<a rel="next" href="([^"]+)"/.exec(first.text)?.[1]?.replaceAll('&amp;', '&') ?? '';
    expect(next).toMatch(/^\/console\/deployments\?app=api&environment=production&who=carol&before=\d+$/);
    const second = await client.get(next);
    expect(rows(second.text)).toEqual(Array.from({ length: 20 }, (_, i) => `api production p${39 - 2 * i} carol`));
    expect(second.text).not.toContain('rel="next"');
    expect((await client.get('/console/deployments?app=api&who=nobody')).text).toContain('No deployments match.');
    expect(rows((await client.get('/console/deployments?app=hello')).text).every((r) => r.startsWith('hello '))).toBe(true);
  });

  test('"Sign in with Slack": the Slack user id becomes the actor, with its roles from the config', async () => {
    const client = new ConsoleClient(base);
    const signIn = await client.get('/console/sign-in');
    expect(signIn.text).toContain('Sign in with Slack');
    const start = await client.get('/console/auth/slack');
    expect(start.status).toBe(302);
    const authorize = new URL(start.location ?? '');
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${slack.url}/openid/connect/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({ response_type: 'code', scope: 'openid profile', client_id: slack.clientId, redirect_uri: `${base}/console/auth/slack/callback` });

    slack.signInAs({ id: 'U0SLACKOPS', name: 'Sam Ops' });
    // The browser's trip through Slack: authorize redirects back with a code and the same state.
    const atSlack = await fetch(authorize.href, { redirect: 'manual' });
    const callback = new URL(atSlack.headers.get('location') ?? '');
    expect(callback.searchParams.get('state')).toBe(authorize.searchParams.get('state'));
    const done = await client.get(`${callback.pathname}${callback.search}`);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/console/deployments');
    const tokenCall = slack.requests.find((r) => r.path === '/api/openid.connect.token');
    expect(Object.fromEntries(new URLSearchParams(tokenCall?.body))).toMatchObject({ client_id: slack.clientId, client_secret: slack.clientSecret, grant_type: 'authorization_code', redirect_uri: `${base}/console/auth/slack/callback` });
    const locks = await client.get('/console/locks');
    expect(locks.text).toContain('Sam Ops (U0SLACKOPS)');
    // lock:staging from the slackers role (membership by Slack user id, as in chat), nothing else.
    expect(locks.text).toContain('<option>staging</option>');
    expect(locks.text).not.toContain('<option>production</option>');
    expect((await client.get('/console/jobs')).status).toBe(403);

    // The same code twice, a state this browser did not start, or no state cookie: refused.
    const replay = await client.get(`${callback.pathname}${callback.search}`);
    expect(replay.status).toBe(400);
    const stranger = new ConsoleClient(base);
    const strangerStart = await stranger.get('/console/auth/slack');
    const otherState = new URL(strangerStart.location ?? '').searchParams.get('state');
    const mixed = await client.get(`/console/auth/slack/callback?code=abc&state=${otherState}`);
    expect(mixed.status).toBe(400);

    // Someone of another workspace (the app may be installed in several) is refused.
    slack.signInAs({ id: 'U0OUTSIDER', teamId: 'T0OTHER', name: 'Outsider' });
    const outsider = new ConsoleClient(base);
    const outsiderStart = new URL((await outsider.get('/console/auth/slack')).location ?? '');
    const outsiderBack = new URL((await fetch(outsiderStart.href, { redirect: 'manual' })).headers.get('location') ?? '');
    const refused = await outsider.get(`${outsiderBack.pathname}${outsiderBack.search}`);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('another Slack workspace (T0OTHER); this Deckhand serves T0FAKETEAM');
    expect(outsider.cookies.has('deckhand_session')).toBe(false);
    expect(receiver.requests.filter((r) => r.path === '/slack-api/auth.test')).toHaveLength(1);
  });
});
