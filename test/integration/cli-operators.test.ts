import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { until } from '../fixtures/in-process.js';
import { mainJs, startBot, type BotProcess } from './bot-process.js';

/**
 * The operator's CLI (deckhand token / deliveries / replay / jobs / retry / audit), spawned for
 * real, on the same store as a running bot: a token made on the command line works on the bot's
 * /api/v1 at once, and what the CLI queues (a replay, a retry) the bot's worker runs.
 */

const config = `environments:
  staging: {}
apps:
  hello:
    provider: { script: ${path.join(projectRoot, 'scripts/hello-deploy.sh')} }
    environments: [staging]
roles:
  deployers: { members: ["shell:*"], may: [deploy:staging, lock:staging] }
  oncall: { members: [], may: ["read:*", "operate:*"] }
`;

describe('deckhand token | deliveries | replay | jobs | retry | audit', () => {
  let cwd: string;
  let bot: BotProcess;
  let store: SqliteStore;
  const env = () => ({ DECKHAND_CONFIG: path.join(cwd, 'deckhand.yaml'), DECKHAND_SHELL_USER: 'tester', DECKHAND_REACTIONS: path.join(cwd, 'reactions') });
  const cli = (...args: string[]) => spawnSync(process.execPath, [mainJs, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env() }, encoding: 'utf8', timeout: 20_000 });
  const json = <T>(...args: string[]): T => {
    const result = cli(...args, '--json');
    expect([args.join(' '), result.status, result.stderr]).toEqual([args.join(' '), 0, '']);
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-cli-ops-'));
    writeFileSync(path.join(cwd, 'deckhand.yaml'), config);
    bot = await startBot({ cwd, env: env() });
    await bot.waitFor('Deckhand on the terminal');
    // The store the bot uses (DATABASE_URL's default, ./data/deckhand.db), opened beside it to seed work.
    store = new SqliteStore(path.join(cwd, 'data', 'deckhand.db'));
  });
  afterAll(async () => {
    store?.close();
    bot?.child.kill('SIGINT');
    await bot?.exited;
  });

  test('token create refuses an unknown role (listing the roles) and a duplicate name; the token it prints works on the bot at once', async () => {
    const unknown = cli('token', 'create', '--name', 'ci', '--role', 'admins');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe('deckhand: No role called "admins". Roles: deployers, oncall.\n');
    const missing = cli('token', 'create', '--name', 'ci');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('token create needs --name and --role. Roles: deployers, oncall.');
    expect(cli('token', 'create', '--name', 'ci', '--role', 'oncall', '--expires', 'soon').stderr).toContain('"soon" is not a lifetime: write e.g. 90d, 2w or 12h.');
    expect(cli('token', 'create', '--name', 'bad name', '--role', 'oncall').stderr).toContain('is not a usable token name');

    const created = cli('token', 'create', '--name', 'ci', '--role', 'oncall', '--expires', '90d');
    expect(created.status).toBe(0);
    const token = /^ {2}(dho_\S+)$/m.exec(created.stdout)?.[1] ?? '';
    expect(token).toMatch(/^dho_[A-Za-z0-9_-]{40,}$/);
    expect(created.stdout).toContain('Token "ci" acts as token:ci with role oncall, until ');
    expect(cli('token', 'create', '--name', 'ci', '--role', 'deployers').stderr).toContain('A token called "ci" exists already');

    const listed = cli('token', 'list');
    expect(listed.stdout).toMatch(/^NAME +ROLE +CREATED +BY +EXPIRES\nci +oncall +\S+ +cli:tester +\S+\n$/);
    expect(listed.stdout).not.toContain(token);
    const tokens = json<{ tokens: Array<{ name: string; role: string; expired: boolean }> }>('token', 'list').tokens;
    expect(tokens).toEqual([expect.objectContaining({ name: 'ci', role: 'oncall', expired: false })]);
    expect(JSON.stringify(tokens)).not.toMatch(/hash|dho_/);

    const api = (token: string) => fetch(`http://127.0.0.1:${bot.port}/api/v1/audit?action=token.create`, { headers: { authorization: `Bearer ${token}` } });
    const answer = await api(token);
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { records: unknown[] }).records).toEqual([expect.objectContaining({ actor: 'cli:tester', action: 'token.create', target: 'token:ci' })]);

    const revoked = cli('token', 'revoke', 'ci');
    expect([revoked.status, revoked.stdout]).toEqual([0, 'Revoked token "ci": it stops working at once.\n']);
    expect((await api(token)).status).toBe(401);
    expect(cli('token', 'revoke', 'ci').stderr).toContain('No token called "ci"');
    expect(cli('token', 'list').stdout).toContain('No operator tokens.');
  }, 90_000);

  test('a dead job is listed and retried; a delivery is listed and replayed: the running bot runs what the CLI queued, and the audit log says who', async () => {
    const now = new Date().toISOString();
    // Work for the bot: a job no handler knows (it dies at once) and a delivery no reaction serves (done).
    await store.enqueueJob({ type: 'nothing-handles-this', payload: { note: 'x' }, runAt: now, maxAttempts: 1 });
    const { delivery } = await store.acceptDelivery({ source: 'trigger:gone', deliveryId: 'abc-1', receivedAt: now, contentType: 'application/json', headers: {}, query: {}, body: { a: 1 } }, { type: 'delivery', runAt: now });
    await until(async () => (await store.listJobs({ state: 'dead' })).length === 1 && (await store.listDeliveries({ outcome: 'done' })).deliveries.length === 1, 'the bot to process the seeded work');

    const dead = cli('jobs', '--dead');
    expect(dead.status).toBe(0);
    const [header, row] = dead.stdout.trim().split('\n');
    expect(header).toMatch(/^ID +TYPE +STATE +TRIES +RUN AT +FINISHED +ERROR$/);
    expect(row).toMatch(/^\d+ +nothing-handles-this +dead +1\/1 /);
    const jobId = Number(row!.split(/\s+/)[0]);

    const retried = cli('retry', String(jobId));
    expect([retried.status, retried.stdout]).toEqual([0, `Job #${jobId} (nothing-handles-this) is pending again, for one more attempt; the running bot takes it.\n`]);
    await until(async () => (await store.getJob(jobId))?.attempts === 2 && (await store.getJob(jobId))?.state === 'dead', 'the bot to run the retried job');
    expect(json<{ jobs: Array<{ id: number; attempts: number; maxAttempts: number }> }>('jobs', '--state', 'dead').jobs).toEqual([expect.objectContaining({ id: jobId, attempts: 2, maxAttempts: 2 })]);

    const deliveries = cli('deliveries');
    expect(deliveries.stdout).toMatch(new RegExp(`^ID +SOURCE +DELIVERY +RECEIVED +OUTCOME +JOB +TRIES +ERROR\\n${delivery.id} +trigger:gone +abc-1 +\\S+ +done +\\d+ +1 +-\\n$`));
    expect(cli('deliveries', '--failed').stdout).toBe('No deliveries match.\n');
    const replayed = cli('replay', String(delivery.id));
    expect(replayed.status).toBe(0);
    expect(replayed.stdout).toMatch(new RegExp(`^Delivery #${delivery.id} \\(trigger:gone abc-1\\) is queued again as job #\\d+; the running bot processes it.\\n$`));
    await until(async () => (await store.listDeliveries({ id: delivery.id })).deliveries[0]?.outcome === 'done', 'the bot to process the replay');
    expect(json<{ deliveries: Array<{ jobs: number; outcome: string }> }>('deliveries', '--source', 'trigger:gone').deliveries).toEqual([expect.objectContaining({ jobs: 2, outcome: 'done' })]);

    const audit = json<{ records: Array<{ actor: string; action: string; target: string }> }>('audit', '--actor', 'cli:tester', '--since', '1h');
    expect(audit.records.map((r) => [r.action, r.target])).toEqual(
      expect.arrayContaining([
        ['delivery.replay', `delivery #${delivery.id}`],
        ['job.retry', `job #${jobId}`],
      ]),
    );
    expect(cli('audit', '--action', 'job.retry').stdout).toMatch(/^AT +ACTOR +ACTION +TARGET +OUTCOME +DETAILS\n\S+ +cli:tester +job\.retry +job #\d+ +ok +\{/);
  }, 90_000);

  test('bad input: a clear message and exit 1, never a stack trace', () => {
    const cases: Array<[string[], string]> = [
      [['retry', 'abc'], 'Give the job id, a number (e.g. 42), not "abc".'],
      [['retry'], 'retry takes one job id'],
      [['retry', '999999'], 'No job #999999.'],
      [['replay', '-1'], 'Unknown option'],
      [['replay', '999999'], 'No delivery #999999'],
      [['deliveries', '--limit', '0'], '--limit takes a number from 1 to 500, not "0".'],
      [['deliveries', '--outcome', 'exploded'], '--outcome is one of pending, running, done, ignored, dead, not "exploded".'],
      [['audit', '--since', 'yesterday'], '--since takes a time (2026-11-20T09:00:00Z) or how long ago (24h, 7d), not "yesterday".'],
      [['jobs', 'extra'], 'Unexpected "extra".'],
      [['token'], 'token needs create, list or revoke.'],
      [['token', 'burn'], 'Unknown token command "burn".'],
      [['token', 'revoke'], 'token revoke takes the token name'],
    ];
    for (const [args, message] of cases) {
      const result = cli(...args);
      expect([args.join(' '), result.status]).toEqual([args.join(' '), 1]);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  }, 90_000);
});
