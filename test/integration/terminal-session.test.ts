import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startBot, type BotProcess } from './bot-process.js';

const session = [
  'help',
  'help deploy',
  'deploy hello to staging',
  'deploy hello/feature-x to staging',
  'deploys hello',
  'create release hello 1.4.0',
  'lock production because db migration',
  'deploy hello to production',
  'unlock production',
  'deploy nosuchapp to staging',
  'depoly hello to staging',
  'whoami',
];

async function runSession(bot: BotProcess, lines: string[]): Promise<number | null> {
  await bot.waitFor('Deckhand on the terminal');
  for (const line of lines) bot.send(line);
  bot.child.stdin.end();
  return bot.exited;
}

async function openStoreIn(cwd: string) {
  const store = new SqliteStore(path.join(cwd, 'data/deckhand.db'));
  await store.migrate();
  return store;
}

describe('the bot on the terminal adapter (real process, real SQLite, real scripts)', () => {
  test('the session from the README: replies, notices, store and files', async () => {
    const bot = await startBot();
    await bot.waitFor('Deckhand on the terminal');

    const health = await fetch(`http://127.0.0.1:${bot.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: true, accepting: true } });

    expect(await runSession(bot, session)).toBe(0);
    const out = bot.stdout();
    expect(out).toContain('Deckhand on the terminal as shell:tester — config the bundled deckhand.example.yaml');
    expect(out).toContain('deckhand commands (say "help <command>" for details):');
    expect(out).toContain('deploy: Deploy an app');
    expect(out).toContain('Deployment #1 hello/main to staging queued.');
    expect(out).toContain('Deployment #2 hello/feature-x to staging queued.\nIt starts when #1 (main, running) is done.');
    expect(out).toMatch(/Recent deployments of hello:\n {2}#2 hello\/feature-x to staging — queued, by shell:tester, just now\n {2}#1 hello\/main to staging — running/);
    expect(out).toContain('Release hello 1.4.0 created.');
    expect(out).toContain('Locked production because db migration.');
    expect(out).toMatch(/Can't deploy hello\/main to production: production is locked by shell:tester since \d{4}-\d\d-\d\d \d\d:\d\d UTC \((just now|\d+ seconds ago)\): db migration\./);
    expect(out).toContain('Unlocked production.');
    expect(out).toContain('I don\'t know an app called "nosuchapp". Known apps: hello.');
    expect(out).toContain('I don\'t know the command "depoly". Did you mean: deploy?');
    expect(out).toContain('You are shell:tester. Roles: operators.');
    // Notices, in lifecycle order per deployment; the script's own output in between.
    const order = ['[deploy] #1 hello/main to staging: queued', '[deploy] #1 hello/main to staging: started', '#1 | Deploying hello@main to staging', '[deploy] #1 hello/main to staging: succeeded', '[deploy] #2 hello/feature-x to staging: started', '[deploy] #2 hello/feature-x to staging: succeeded'];
    const positions = order.map((text) => out.indexOf(text));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    // What the example script really wrote.
    const marker = JSON.parse(readFileSync(path.join(bot.cwd, 'data/hello/staging/current.json'), 'utf8'));
    expect(marker).toMatchObject({ app: 'hello', environment: 'staging', ref: 'feature-x', deployment_id: 2, requested_by: 'shell:tester' });
    const history = readFileSync(path.join(bot.cwd, 'data/hello/staging/history.log'), 'utf8').trim().split('\n');
    expect(history.map((l) => l.split(' ').slice(1).join(' '))).toEqual(['#1 main shell:tester', '#2 feature-x shell:tester']);
    expect(existsSync(path.join(bot.cwd, 'data/hello/production'))).toBe(false);

    // What the store kept.
    const store = await openStoreIn(bot.cwd);
    const deployments = await store.listDeployments({ app: 'hello' });
    expect(deployments.map((d) => [d.id, d.ref, d.environment, d.state])).toEqual([
      [2, 'feature-x', 'staging', 'succeeded'],
      [1, 'main', 'staging', 'succeeded'],
    ]);
    expect(await store.getRelease('hello', '1.4.0')).toMatchObject({ createdBy: 'shell:tester' });
    expect(await store.listLocks()).toEqual([]);
    const audit = await store.listAudit({ limit: 50 });
    expect(audit.map((a) => `${a.action}:${a.outcome}`).reverse()).toEqual([
      'deploy:ok', 'deploy:ok', 'release.create:ok', 'lock:ok', 'deploy:denied', 'unlock:ok',
    ]);
    const events = (await store.listEvents()).map((e) => e.type);
    expect(events.filter((t) => t === 'deployment.succeeded')).toHaveLength(2);
    expect(events).toEqual(expect.arrayContaining(['release.created', 'lock.acquired', 'lock.released']));
    await store.close();
  });

  test('failure, pre-deploy checks, force, dry run and rollback', async () => {
    const bot = await startBot();
    await bot.waitFor('Deckhand on the terminal');
    // Each step waits for the notice it depends on, as a person at the terminal would.
    // Production is protected in the example config: each deploy waits for "approve <n>".
    const steps: Array<[string, string]> = [
      ['deploy hello/v1 to prod', '#1 hello/v1 to production: waiting for approval by role:operators, role:release-managers'],
      ['approve 1', '#1 hello/v1 to production: succeeded'],
      ['deploy hello/v2 to prod', 'needs approval'],
      ['approve #2', '#2 hello/v2 to production: succeeded'],
      ['deploy hello/fail-demo to prod', 'An approver says "approve 3"'],
      ['approve 3', 'full log: http://localhost:'],
      ['deploy hello/wip-thing to staging', 'Pre-deploy checks failed'],
      ['deploy! hello/wip-thing to staging', '#4 hello/wip-thing to staging (forced): succeeded'],
      ['deploy hello/v9 to staging --dry-run', '#5 hello/v9 to staging (dry run): succeeded'],
      ['rollback hello in prod', 'Reply "yes"'],
      ['yes', 'It needs approval: an approver says "approve 6"'],
      ['deny 6', '#6 hello/v1 to production (rollback of #2): denied by shell:tester'],
      ['rollback hello in prod', 'Reply "yes"'],
      ['yes', 'approve 7'],
    ];
    for (const [line, notice] of steps) {
      bot.send(line);
      await bot.waitFor(notice);
      if (line === 'approve 3') {
        // The failure notice links the whole log; the link works while the bot runs, a wrong token does not.
        const url = /full log: (\S+)/.exec(bot.stdout())?.[1] ?? '';
        expect(url).toMatch(new RegExp(`^http://localhost:${bot.port}/deployments/3/log\\?token=[\\w-]{20,}$`));
        const log = await fetch(url);
        expect(log.status).toBe(200);
        expect(log.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        const text = await log.text();
        expect(text).toContain('Deployment #3 hello/fail-demo to production — failed (exited with code 1)');
        expect(text).toContain('  Deploying hello@fail-demo to production');
        expect(text).toMatch(/\n! .*fail/);
        expect((await fetch(url.replace(/token=.*/, 'token=guess'))).status).toBe(404);
        expect((await fetch(url.replace('/deployments/3/', '/deployments/999/'))).status).toBe(404);
      }
    }
    bot.send('approve 7');
    bot.child.stdin.end();
    expect(await bot.exited).toBe(0);
    const out = bot.stdout();
    expect(out).toMatch(/\[deploy\] #3 hello\/fail-demo to production: failed: exited with code 1\n {2}last output:\n(.|\n)*\| .*fail/);
    expect(out).toContain('Pre-deploy checks failed for hello/wip-thing to staging:');
    expect(out).toContain('use deploy! to go ahead anyway');
    expect(out).toContain('Forced past failed checks: hello-check.sh (audited).');
    expect(out).toContain('#5 hello/v9 to staging (dry run)');
    expect(out).toContain('Roll back hello in production from v2 (#2) to v1 (#1)?');
    expect(out).toContain('[deploy] #6 hello/v1 to production (rollback of #2): cancelled: approval denied by shell:tester');
    expect(out).toContain('Rolling back: deployment #7 hello/v1 to production (rollback of #2) queued.');
    expect(out).toContain('[deploy] #7 hello/v1 to production (rollback of #2): succeeded');

    const production = JSON.parse(readFileSync(path.join(bot.cwd, 'data/hello/production/current.json'), 'utf8'));
    expect(production).toMatchObject({ ref: 'v1', deployment_id: 7 });
    const staging = JSON.parse(readFileSync(path.join(bot.cwd, 'data/hello/staging/current.json'), 'utf8'));
    expect(staging.ref).toBe('wip-thing'); // the dry run of v9 changed nothing

    const store = await openStoreIn(bot.cwd);
    expect((await store.getDeployment(3))?.logTail).toMatch(/fail/);
    expect(await store.listAudit({ action: 'deploy', actor: 'shell:tester', limit: 50 })).toEqual(
      expect.arrayContaining([expect.objectContaining({ outcome: 'ok', details: expect.objectContaining({ forced: true, forcedPastChecks: ['hello-check.sh'] }) })]),
    );
    await store.close();
  });

  // SIGTERM is the graceful stop (shutdown-*.test.ts); Ctrl-C stops at once.
  test('SIGINT during a deployment records it as cancelled; the next start sees it', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-e2e-'));
    const bot = await startBot({ cwd });
    await bot.waitFor('Deckhand on the terminal');
    bot.send('deploy hello to staging');
    await bot.waitFor('#1 | Deploying hello@main');
    bot.child.kill('SIGINT');
    expect(await bot.exited).toBe(130);

    const again = await startBot({ cwd });
    expect(await runSession(again, ['deploys hello'])).toBe(0);
    expect(again.stdout()).toMatch(/#1 hello\/main to staging — cancelled in \d+m?s \(cancelled: Deckhand is shutting down\)/);
  });

  test('a broken config file stops start-up with file, line and the fix', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-e2e-'));
    writeFileSync(path.join(cwd, 'deckhand.yaml'), 'environments:\n  staging: {}\napps:\n  web:\n    provider: { script: deploy.sh }\n    environments: [staging, qa]\n');
    writeFileSync(path.join(cwd, 'deploy.sh'), 'echo hi\n');
    const bot = await startBot({ cwd });
    expect(await bot.exited).toBe(1);
    expect(bot.stderr()).toContain('deckhand: Invalid config deckhand.yaml:');
    expect(bot.stderr()).toContain('deckhand.yaml:6:29: apps.web.environments[1]: "qa" is not a defined environment; define it under environments: or use one of staging');
    expect(bot.stderr()).not.toMatch(/at .*\.js:\d+/); // no stack trace for a user error
  });

  test('a bad environment variable stops start-up naming it', async () => {
    const bot = await startBot({ env: { DATABASE_URL: 'mysql://nope' } });
    expect(await bot.exited).toBe(1);
    expect(bot.stderr()).toMatch(/deckhand: .*DATABASE_URL/);
  });
});
