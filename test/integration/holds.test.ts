import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startBot } from './bot-process.js';

/**
 * What a restarted Deckhand finds when the one before it died mid-deployment with its script on
 * another machine: deployment #1 was taken over as "interrupted — outcome unknown" and holds
 * hello/staging for an hour. The real bot (terminal adapter, real SQLite file, the bundled config
 * and scripts) explains the hold, and releases it after a confirmation; the waiting deployment
 * then really runs.
 */
async function storeWithHold(cwd: string): Promise<void> {
  mkdirSync(path.join(cwd, 'data'), { recursive: true });
  const store = new SqliteStore(path.join(cwd, 'data/deckhand.db'));
  await store.migrate();
  const now = new Date();
  const at = now.toISOString();
  const owner = 'build-7:100:gone';
  await store.registerInstance({ id: owner, host: 'build-7', pidScope: 'another-machine', pid: 100, startedAt: at, expiresAt: new Date(now.getTime() + 30_000).toISOString() });
  const d = await store.createDeployment({ app: 'hello', environment: 'staging', ref: 'v1', provider: 'script', source: 'chat', requestedBy: 'shell:tester', createdAt: at });
  await store.claimNextDeployment('hello', 'staging', at, { owner, deadline: null });
  await store.recordDeploymentProcess(d.id, owner, { host: 'build-7', pidScope: 'another-machine', pgid: 4242, leaderStart: '99' });
  await store.stopInstance(owner, at);
  const reason = `interrupted — outcome unknown: the Deckhand running it (${owner}) stopped before it finished`;
  const taken = await store.takeOverDeployment(d.id, at, { state: 'failed', finishedAt: at, reason }, new Date(now.getTime() + 3_600_000).toISOString());
  if (taken?.state !== 'failed') throw new Error('the hold was not set up');
  await store.close();
}

describe('a held target on the terminal adapter (real process, real SQLite)', () => {
  test('deploy explains the hold, holds lists it, release hold asks, releases, and the queued deployment runs', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-holds-'));
    await storeWithHold(cwd);
    const bot = await startBot({ cwd });
    await bot.waitFor('Deckhand on the terminal');

    bot.send('deploy hello to staging');
    await bot.waitFor(/Deployment #2 hello\/main to staging queued\.\nIt waits: hello in staging is held by #1 \(hello\/v1, interrupted — outcome unknown: the Deckhand running it \(build-7:100:gone\) stopped before it finished\): its script may still be running on build-7 \(pid 4242\)\. Held until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in \d+ minutes\) at the latest/);
    bot.send('holds');
    await bot.waitFor(/Held targets \(deployments there wait\):\n {2}hello in staging is held by #1 .*\n {4}If you know its script is not running, "release hold hello in staging" ends the hold \(needs force:staging\)\./);

    bot.send('where can i deploy hello');
    await bot.waitFor(/ {2}staging — [^\n]*held by interrupted #1 until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in \d+ minutes\) at the latest \(see "holds"\)/);

    // Held: #2 waits (the bot's recovery has run at start and left the hold, the script being elsewhere).
    const look = new SqliteStore(path.join(cwd, 'data/deckhand.db'));
    expect((await look.getDeployment(2))?.state).toBe('queued');

    bot.send('release hold hello to stg');
    await bot.waitFor('Release the hold on hello in staging? #1 was interrupted and its script may still be running on build-7 (pid 4242). The next deployment there starts at once — the script may still be running.\nReply "yes" to go ahead');
    expect((await look.getDeployment(2))?.state).toBe('queued');
    bot.send('yes');
    await bot.waitFor('Released the hold on hello in staging (kept by #1); its next deployment may start now. Audited.');
    await bot.waitFor('[deploy] #2 hello/main to staging: succeeded');
    bot.send('holds');
    await bot.waitFor('Nothing is held: every target can deploy as usual.');
    bot.send('where can i deploy hello');
    await bot.waitFor(/ {2}staging — live: main \(#2\)/);
    expect(bot.stdout().split('hello can be deployed to:').at(-1)).not.toContain('held by');
    bot.child.stdin.end();
    expect(await bot.exited).toBe(0);

    expect((await look.getDeployment(2))?.state).toBe('succeeded');
    expect(await look.listAudit({ action: 'hold.release' })).toEqual([
      expect.objectContaining({ actor: 'shell:tester', outcome: 'ok', target: 'hello in staging', details: expect.objectContaining({ deployments: [1], scripts: ['build-7:4242'] }) }),
    ]);
    await look.close();
  });
});
