import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { projectRoot } from '../../src/app.js';
import { systemClock } from '../../src/core/clock.js';
import { createOperatorToken } from '../../src/operators/operator-tokens.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startFakeOctopus, type FakeOctopus } from '../fakes/octopus/fake-octopus.js';
import { startBot, type BotProcess } from '../integration/bot-process.js';
import { chromiumAvailable, launchChromium } from './chromium.js';

const webhookSecret = 'octopus-webhook-secret-console-0123';
/** CI keeps this folder as an artifact; it is gitignored. */
const screenshots = path.join(projectRoot, 'artifacts', 'screenshots');
const script = path.join(projectRoot, 'scripts', 'hello-deploy.sh');

const config = `environments:
  staging: {}
  production: { protected: true }
apps:
  hello:
    provider: { script: ${script} }
    environments: [staging, production]
    default: { ref: main, environment: staging }
  api:
    provider: { script: ${script} }
    environments: [staging, production]
  web:
    provider: { octopus: { project: "Core Web", environments: { production: Production } } }
    environments: [staging, production]
roles:
  terminal: { members: ["shell:*"], may: [deploy:staging] }
  operators: { members: [], may: [read:deliveries, read:jobs, read:audit, operate:deliveries, operate:jobs, "lock:*", "deploy:*"] }
  viewers: { members: [], may: [read:deliveries, read:jobs, read:audit] }
`;

const describeWithChromium = chromiumAvailable() ? describe : describe.skip;

/**
 * The console in real Chromium against a real bot process (the terminal adapter, SQLite on disk)
 * and a fake GitHub: what an on-call engineer does in a browser.
 */
describeWithChromium('the web console in Chromium', () => {
  let bot: BotProcess;
  let octopus: FakeOctopus;
  let browser: Browser;
  let ops: BrowserContext;
  let page: Page;
  let base: string;
  const tokens = { ops: '', viewer: '' };

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    octopus = await startFakeOctopus();
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-console-browser-'));
    writeFileSync(path.join(cwd, 'deckhand.yaml'), config);
    mkdirSync(path.join(cwd, 'data'));
    // Operator tokens as `deckhand token create` makes them, in the database the bot then opens.
    const store = new SqliteStore(path.join(cwd, 'data', 'deckhand.db'));
    await store.migrate();
    tokens.ops = (await createOperatorToken(store, systemClock, { name: 'ops', role: 'operators' })).token;
    tokens.viewer = (await createOperatorToken(store, systemClock, { name: 'viewer', role: 'viewers' })).token;
    await store.close();
    bot = await startBot({
      cwd,
      env: {
        DECKHAND_CONFIG: path.join(cwd, 'deckhand.yaml'),
        DATABASE_URL: `sqlite:${path.join(cwd, 'data', 'deckhand.db')}`,
        DECKHAND_CONSOLE_SECRET: 'browser-test-console-secret-0123456789abcdef',
        DECKHAND_REACTIONS: path.join(cwd, 'reactions'),
        OCTOPUS_URL: octopus.url,
        OCTOPUS_API_KEY: octopus.apiKey,
        OCTOPUS_SPACE: 'Default',
        OCTOPUS_WEBHOOK_SECRET: webhookSecret,
      },
    });
    base = `http://127.0.0.1:${bot.port}`;
    await waitForHttp(`${base}/readyz`);
    browser = await launchChromium();
    ops = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await ops.newPage();
    page.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await octopus?.close();
  });

  async function signIn(p: Page, token: string): Promise<void> {
    await p.goto(`${base}/console`);
    // Signed out, the console sends the browser to sign in.
    expect(new URL(p.url()).pathname).toBe('/console/sign-in');
    await p.getByLabel('Operator token').fill(token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(`${base}/console/deployments`);
  }

  /** Reloads `url` until `text` is on the page (the worker runs in the bot, on its own time). */
  async function reloadUntil(p: Page, url: string, text: string | RegExp, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      await p.goto(url);
      const body = await p.locator('main').innerText();
      if (typeof text === 'string' ? body.includes(text) : text.test(body)) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${String(text)} on ${url}; the page says:\n${body}\n--- bot stderr ---\n${bot.stderr().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  test('sign in with an operator token', async () => {
    await page.goto(`${base}/console/sign-in`);
    await page.screenshot({ path: path.join(screenshots, 'sign-in.png') });
    await signIn(page, tokens.ops);
    await expect(page.getByTestId('actor').innerText()).resolves.toBe('ops (token:ops)');
    const cookies = await ops.cookies();
    expect(cookies.find((c) => c.name === 'deckhand_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/console' });
  });

  test('filter deployments by app', async () => {
    bot.send('deploy hello to staging');
    await reloadUntil(page, `${base}/console/deployments`, /hello\s+staging\s+main\s+succeeded/);
    bot.send('deploy api to staging');
    await reloadUntil(page, `${base}/console/deployments`, /api\s+staging\s+main\s+succeeded/);
    await page.screenshot({ path: path.join(screenshots, 'deployments.png'), fullPage: true });

    await page.getByLabel('App').selectOption('hello');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/app=hello/);
    const apps = await page.locator('[data-testid=deployments] tbody tr td:nth-child(2)').allInnerTexts();
    expect(apps).toEqual(['hello']);
    await page.locator('[data-testid=deployments] tbody a').first().click();
    await expect(page.locator('[data-testid=timeline]').innerText()).resolves.toMatch(/deployment\.queued[\s\S]*deployment\.started[\s\S]*deployment\.succeeded/);
    const log = await page.getByTestId('log-link').getAttribute('href');
    const text = await (await fetch(`${base}${log}`)).text();
    expect(text).toContain('Deployment #1 hello/main to staging — succeeded');
    await page.screenshot({ path: path.join(screenshots, 'deployment.png'), fullPage: true });
  });

  test('a dead delivery is replayed from the console against an Octopus that now answers, and succeeds', async () => {
    // A deployment started in Octopus; Deckhand is told by a subscription webhook and asks Octopus
    // about its environment, which fails once with a 404: the job is dead at once (a 404 is permanent).
    const release = octopus.addRelease('Core Web', '1.7.0');
    const started = await fetch(`${octopus.url}/api/Spaces-1/deployments`, { method: 'POST', headers: { 'x-octopus-apikey': octopus.apiKey, 'content-type': 'application/json' }, body: JSON.stringify({ ReleaseId: release.Id, EnvironmentId: 'Environments-2' }) });
    const deployment = (await started.json()) as { Id: string; TaskId: string };
    octopus.failNext('GET', /\/environments\/Environments-2$/, 404);
    const hook = { url: `${base}/webhooks/octopus`, headerKey: 'X-Deckhand-Secret', headerValue: webhookSecret };
    const sent = await octopus.emitSubscriptionEvent(hook, { category: 'DeploymentStarted', relatedDocumentIds: [deployment.Id, 'Projects-1', release.Id, 'Environments-2', deployment.TaskId], eventId: 'Events-950', username: 'carol' });
    expect(sent.status).toBe(202);

    await reloadUntil(page, `${base}/console/deliveries?outcome=dead`, 'octopus');
    await page.screenshot({ path: path.join(screenshots, 'deliveries.png'), fullPage: true });
    await page.getByRole('link', { name: /^#\d+$/ }).first().click();
    await expect(page.getByTestId('outcome').innerText()).resolves.toBe('dead');
    await expect(page.getByTestId('error').innerText()).resolves.toMatch(/Octopus answered 404 to GET \/api\/Spaces-1\/environments\/Environments-2/);
    // The shared secret Octopus sent is not shown.
    await expect(page.locator('main').innerText()).resolves.not.toContain(webhookSecret);
    await page.screenshot({ path: path.join(screenshots, 'delivery.png'), fullPage: true });

    await page.getByRole('button', { name: 'Replay' }).click();
    await expect(page.locator('.notice').innerText()).resolves.toMatch(/replayed/);
    await reloadUntil(page, page.url(), /Outcome\s+done/);
    // This time Octopus answered, and the deployment it runs is shown in Deckhand.
    expect(octopus.callsTo('GET', /\/environments\/Environments-2$/).map((c) => c.status)).toEqual([404, 200]);
    await page.goto(`${base}/console/deployments?app=web`);
    await expect(page.getByTestId('deployments').innerText()).resolves.toMatch(/web\s+production\s+1\.7\.0\s+running\s+octopus:carol/);
  });

  test('a lock taken in the console refuses a deploy from the terminal', async () => {
    await page.goto(`${base}/console/locks`);
    await page.getByLabel('Environment').selectOption('staging');
    await page.getByLabel('Reason').fill('database migration');
    await page.getByRole('button', { name: 'Lock' }).click();
    await expect(page.locator('.notice').innerText()).resolves.toBe('Locked staging.');
    await expect(page.getByTestId('locks').innerText()).resolves.toMatch(/staging\s+token:ops\s+database migration/);
    await page.screenshot({ path: path.join(screenshots, 'locks.png'), fullPage: true });

    bot.send('deploy hello to staging');
    await bot.waitFor(/staging is locked by token:ops .*database migration/);
  });

  test('without the role: no Retry button, and the POST behind it is 403', async () => {
    // The operator sees the dead job of the failed delivery with its Retry button.
    await page.goto(`${base}/console/jobs?state=dead`);
    const row = page.locator('[data-testid=jobs] tbody tr').first();
    const jobId = await row.getAttribute('data-job');
    await expect(row.getByRole('button', { name: 'Retry' }).count()).resolves.toBe(1);
    await page.screenshot({ path: path.join(screenshots, 'jobs.png'), fullPage: true });

    const viewer = await browser.newContext();
    const viewerPage = await viewer.newPage();
    await signIn(viewerPage, tokens.viewer);
    await viewerPage.goto(`${base}/console/jobs?state=dead`);
    await expect(viewerPage.locator(`[data-job="${jobId}"]`).count()).resolves.toBe(1);
    await expect(viewerPage.getByRole('button', { name: 'Retry' }).count()).resolves.toBe(0);
    // The same request the button would send, with this session's own CSRF token.
    const csrf = await viewerPage.locator('input[name=_csrf]').first().getAttribute('value');
    const refused = await viewerPage.request.post(`${base}/console/jobs/${jobId}/retry`, { form: { _csrf: csrf ?? '' }, maxRedirects: 0 });
    expect(refused.status()).toBe(403);
    expect(await refused.text()).toContain('it needs operate:jobs');
    await viewer.close();
  });

  test('the reactions and audit pages render', async () => {
    await page.goto(`${base}/console/audit?actor=token%3Aops`);
    await expect(page.getByTestId('audit').innerText()).resolves.toMatch(/lock[\s\S]*delivery\.replay[\s\S]*console\.sign-in/);
    await page.screenshot({ path: path.join(screenshots, 'audit.png'), fullPage: true });
    await page.goto(`${base}/console/reactions`);
    await expect(page.locator('h1').innerText()).resolves.toBe('Reactions');
  });
});

async function waitForHttp(url: string): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > end) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
