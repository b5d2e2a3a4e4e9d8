import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { projectRoot } from '../../src/app.js';
import { until } from '../fixtures/in-process.js';
import { startBot, type BotProcess } from './bot-process.js';

const key = 'restart-test-key-0123456789';

/** Bots still running when a test fails are stopped, so a failure never leaves jest waiting on them. */
const bots: BotProcess[] = [];
afterEach(() => {
  for (const bot of bots.splice(0)) if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
});

/**
 * A bot workspace with one webhook reaction `name` whose only step is `script` (a YAML flow map),
 * started with a 1 s job lease; resolves once it is up.
 */
async function startWithWebhook(name: string, script: string): Promise<{ cwd: string; out: string; env: Record<string, string>; bot: BotProcess }> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), `deckhand-${name}-`));
  const reactions = path.join(cwd, 'reactions');
  mkdirSync(reactions);
  const out = path.join(cwd, 'runs.log');
  writeFileSync(path.join(reactions, `${name}.yaml`), `on:\n  webhook: ${name}\n  auth: { api_key: "\${secret.SLOW_KEY}" }\ndo:\n  - script: ${script}\n`);
  const env = { DECKHAND_REACTIONS: reactions, SLOW_KEY: key, OUT_FILE: out, DECKHAND_JOB_LEASE: '1s' };
  const bot = await startBot({ cwd, env });
  bots.push(bot);
  await bot.waitFor('Deckhand on the terminal');
  return { cwd, out, env, bot };
}

describe('a webhook accepted with 202 is processed even if the bot dies right after', () => {
  test('kill -9 during the reaction, restart: the delivery runs to completion exactly once', async () => {
    const { cwd, out, env, bot: first } = await startWithWebhook('slow', `{ path: ${path.join(projectRoot, 'test/fixtures/reactions/slow-record.sh')}, api: [read], env: { OUT_FILE: "\${env.OUT_FILE}" } }`);
    const response = await fetch(`http://127.0.0.1:${first.port}/triggers/slow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-delivery-id': 'delivery-1' },
      body: JSON.stringify({ version: '3.1.4' }),
    });
    expect(response.status).toBe(202);
    // The reaction is running when the machine "dies": the bot and its script go together.
    await until(() => existsSync(`${out}.pids`));
    const [killedRunToken] = readFileSync(`${out}.tokens`, 'utf8').trim().split('\n');
    const list = (port: number) => fetch(`http://127.0.0.1:${port}/api/v1/deployments?app=hello`, { headers: { authorization: `Bearer ${killedRunToken}` } });
    expect((await list(first.port)).status).toBe(200); // the run is going: its token works
    first.child.kill('SIGKILL');
    for (const pid of readFileSync(`${out}.pids`, 'utf8').trim().split('\n')) {
      try {
        process.kill(-Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await first.exited;
    expect(existsSync(out)).toBe(false);

    const second = await startBot({ cwd, env });
    bots.push(second);
    await second.waitFor('Deckhand on the terminal');
    // The dead worker's lease runs out (1 s), the new process takes the job and finishes it.
    await until(() => existsSync(out) && readFileSync(out, 'utf8').includes('done'), 'the run to finish', 20_000);
    // The killed run's token died with it, although nobody revoked it (its lifetime is the script timeout + 1 minute).
    expect((await list(second.port)).status).toBe(401);
    // A redelivery after the restart is still recognised.
    const again = await fetch(`http://127.0.0.1:${second.port}/triggers/slow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-delivery-id': 'delivery-1' },
      body: JSON.stringify({ version: '3.1.4' }),
    });
    expect(again.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    second.child.stdin.end();
    expect(await second.exited).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual(['done 3.1.4']);
    expect(readFileSync(`${out}.starts`, 'utf8').trim().split('\n')).toHaveLength(2); // tried, killed, tried again
    // Neither run's token is left in the store: the killed one was deleted, the finished one revoked.
    const db = new Database(path.join(cwd, 'data', 'deckhand.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM api_tokens').pluck().get()).toBe(0);
    db.close();
  }, 60_000);
});

describe('a step cut by kill -9 runs again after the restart, as the same run, and says so', () => {
  test('DECKHAND_RUN_ID is the same on the re-run, DECKHAND_RUN_ATTEMPT goes up, the new process logs a re-run of an interrupted step', async () => {
    const { cwd, out, env, bot: first } = await startWithWebhook('held', `{ path: ${path.join(projectRoot, 'test/fixtures/reactions/record-run-id.sh')}, env: { OUT_FILE: "\${env.OUT_FILE}", HOLD: "1" } }`);
    const response = await fetch(`http://127.0.0.1:${first.port}/triggers/held`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-delivery-id': 'delivery-rerun' },
      body: '{}',
    });
    expect(response.status).toBe(202);
    // The step has started (its script is waiting for the gate) when the machine "dies".
    await until(() => existsSync(out) && existsSync(`${out}.pids`));
    first.child.kill('SIGKILL');
    for (const pid of readFileSync(`${out}.pids`, 'utf8').trim().split('\n')) {
      try {
        process.kill(-Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await first.exited;
    expect(first.stderr()).not.toContain('re-run');
    writeFileSync(`${out}.gate`, '');

    const second = await startBot({ cwd, env });
    bots.push(second);
    await second.waitFor('Deckhand on the terminal');
    await until(() => existsSync(`${out}.done`), 'the re-run to finish', 20_000);
    await second.waitFor('reaction step re-run');
    second.child.stdin.end();
    expect(await second.exited).toBe(0);

    const runs = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(' '));
    expect(runs).toHaveLength(2);
    expect(runs[0]?.[0]).toMatch(/^deckhand-[0-9a-f]{32}$/);
    expect(runs).toEqual([
      [runs[0]?.[0], '1'],
      [runs[0]?.[0], '2'],
    ]);
    const rerun = second
      .stderr()
      .split('\n')
      .filter((l) => l.includes('reaction step re-run'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rerun).toEqual([expect.objectContaining({ level: 40, reaction: 'held', step: 0, kind: 'script', attempt: 2, previousAttempt: 1, previous: 'interrupted', runId: runs[0]?.[0] })]);
  }, 60_000);
});
