import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../../src/app.js';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import { freePort } from '../integration/bot-process.js';

/**
 * Decision 016: what a start does not need is loaded at its first use. This starts the built bot as
 * the bench does (Slack over HTTP, a GitHub token, a webhook reaction whose strings are plain text)
 * under a loader hook that lists every file it loads, waits for /readyz, stops it, and checks that
 * none of the lazy packages was loaded. A top-level import of one of them brings it back into the
 * list and fails this test.
 */
const lazyPackages = [
  'execa', // the script runner, at the first script run
  '@octokit/rest', // the GitHub client, at its first request
  '@octokit/auth-app',
  'liquidjs', // templates, at the first one with {{ or {%
  'node-cron', // schedules, at the first reaction with on: schedule
  'ajv', // Fastify's schema compilers, at the first route with a JSON schema
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
  '@opentelemetry/api', // prom-client's default metrics, at the first scrape
];

// Runs before main.js: ESM files are listed by a load hook (off-thread, appended as they load),
// CommonJS files from the require cache when the process exits.
const hook = (listFile: string, mainJs: string) => `
  import { register, createRequire } from 'node:module';
  import { appendFileSync } from 'node:fs';
  register('data:text/javascript,' + encodeURIComponent(
    "import { appendFileSync } from 'node:fs'; let file;" +
    "export function initialize(data) { file = data.file; }" +
    "export async function load(url, context, next) { appendFileSync(file, url + '\\\\n'); return next(url, context); }"
  ), { data: { file: ${JSON.stringify(listFile)} } });
  const require = createRequire(${JSON.stringify(mainJs)});
  process.on('exit', () => appendFileSync(${JSON.stringify(listFile)}, Object.keys(require.cache).join('\\n') + '\\n'));
`;

function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

describe('the start path (built bot, plain node)', () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await FakeSlack.start();
  });
  afterAll(async () => {
    await slack.close();
  });

  it('reaches /readyz with Slack, GitHub and a reaction configured without loading execa, Octokit, liquidjs, node-cron, ajv or @opentelemetry/api', async () => {
    const mainJs = path.join(projectRoot, 'dist', 'src', 'main.js');
    if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run "npm run build" (npm test does it).`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-lazy-start-'));
    const reactions = path.join(dir, 'reactions');
    mkdirSync(reactions);
    writeFileSync(
      path.join(reactions, 'plain.yaml'),
      ['name: plain', 'on:', '  webhook: plain', '  auth: { api_key: "${secret.PLAIN_KEY}" }', '  where: { path: payload.kind, exists: true }', 'do:', '  - chat: { channel: "#deploys", text: "a release came in" }', ''].join('\n'),
    );
    const listFile = path.join(dir, 'loaded.txt');
    writeFileSync(listFile, '');
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook(listFile, mainJs))}`, mainJs], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: `sqlite:${path.join(dir, 'deckhand.db')}`,
        DECKHAND_DATA_DIR: path.join(dir, 'data'),
        DECKHAND_REACTIONS: reactions,
        GITHUB_TOKEN: 'ghp_lazy_start_not_used',
        GITHUB_API_URL: 'http://127.0.0.1:9/',
        GITHUB_WEBHOOK_SECRET: 'lazy-start-webhook-secret',
        SLACK_BOT_TOKEN: slack.workspace.botToken,
        SLACK_SIGNING_SECRET: 'lazy-start-signing-secret',
        SLACK_API_URL: slack.apiUrl,
        PLAIN_KEY: 'lazy-start-trigger-key-0123456789',
      },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));
    try {
      while ((await status(`http://127.0.0.1:${port}/readyz`)) !== 200) {
        if (exitCode !== undefined) throw new Error(`the bot exited (${exitCode}) before /readyz:\n${output}`);
        await sleep(20);
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }

    const files = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
    const packageOf = (file: string) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
    const packages = new Set(files.map(packageOf).filter((p): p is string => p !== undefined));
    // The hook saw the start (ESM and CommonJS alike): otherwise an empty list would pass.
    expect(files.some((f) => f.endsWith('/dist/src/main.js'))).toBe(true);
    for (const seen of ['fastify', 'zod', 'better-sqlite3', '@slack/bolt', 'prom-client']) expect([...packages]).toContain(seen);
    expect(lazyPackages.filter((p) => packages.has(p))).toEqual([]);
    expect(files.filter((f) => f.includes('/prom-client/lib/defaultMetrics'))).toEqual([]);
  }, 60_000);
});
