import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeOctopus, type FakeOctopus } from '../fakes/octopus/fake-octopus.js';
import { until } from '../fixtures/in-process.js';
import { startBot, type BotProcess } from './bot-process.js';

const key = 'release-kill-key-0123456789';

/**
 * A reaction's create_release step on an Octopus app, killed (kill -9) at the worst moment: Octopus
 * has made the release, Deckhand has not heard back, so nothing is recorded here and the step is not
 * marked done. The restarted bot runs the step again (same run id): it finds the release in Octopus
 * and records that one — one release in Octopus, one in Deckhand, one release.created.
 */
describe('create_release killed between Octopus and the record', () => {
  let octopus: FakeOctopus;
  const bots: BotProcess[] = [];
  afterAll(async () => {
    for (const bot of bots) if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    await Promise.all(bots.map((bot) => bot.exited));
    await octopus?.close();
  });

  test('the re-run after a restart finds the release in Octopus instead of creating it again', async () => {
    octopus = await startFakeOctopus();
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-release-kill-'));
    const reactions = path.join(cwd, 'reactions');
    mkdirSync(reactions);
    writeFileSync(
      path.join(cwd, 'deckhand.yaml'),
      `environments: { staging: {} }
apps:
  web: { provider: { octopus: { project: "Core Web" } }, environments: [staging] }
`,
    );
    writeFileSync(
      path.join(reactions, 'release.yaml'),
      `on: { webhook: release, auth: { api_key: "\${secret.RELEASE_KEY}" } }
do:
  - create_release: { app: web, version: "{{ payload.version }}", notes: "from the feed" }
`,
    );
    const env = { DECKHAND_CONFIG: path.join(cwd, 'deckhand.yaml'), DECKHAND_REACTIONS: reactions, RELEASE_KEY: key, DECKHAND_JOB_LEASE: '1s', OCTOPUS_URL: octopus.url, OCTOPUS_API_KEY: octopus.apiKey };
    const start = async () => {
      const bot = await startBot({ cwd, env });
      bots.push(bot);
      await bot.waitFor('Deckhand on the terminal');
      return bot;
    };
    const rows = <T>(sql: string) => {
      const db = new Database(path.join(cwd, 'data', 'deckhand.db'), { readonly: true });
      try {
        return db.prepare(sql).all() as T[];
      } finally {
        db.close();
      }
    };

    const first = await start();
    const held = octopus.holdNext('POST', /^\/api\/Spaces-1\/releases$/);
    const accepted = await fetch(`http://127.0.0.1:${first.port}/triggers/release`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-delivery-id': 'feed-42' },
      body: JSON.stringify({ version: '4.2.0' }),
    });
    expect(accepted.status).toBe(202);
    await held.arrived;
    expect(octopus.releases().map((r) => r.Version)).toEqual(['4.2.0']); // made in Octopus; the answer is still on its way
    first.child.kill('SIGKILL');
    await first.exited;
    held.release();
    expect(rows('SELECT * FROM releases')).toEqual([]);

    const second = await start();
    await until(() => rows<{ state: string }>("SELECT state FROM jobs WHERE type = 'reaction'").every((j) => j.state === 'done') && rows('SELECT * FROM releases').length > 0, 'the re-run to record the release', 30_000);
    expect(octopus.callsTo('POST', /\/releases$/)).toHaveLength(1);
    expect(octopus.releases()).toHaveLength(1);
    expect(octopus.callsTo('GET', /\/projects\/Projects-1\/releases\/4\.2\.0$/).length).toBeGreaterThan(0);
    expect(rows<{ version: string; created_by: string; notes: string }>('SELECT version, created_by, notes FROM releases')).toEqual([{ version: '4.2.0', created_by: 'reaction:release', notes: 'from the feed' }]);
    expect(rows("SELECT id FROM events WHERE type = 'release.created'")).toHaveLength(1);
    expect(second.stdout() + second.stderr()).toContain('reaction step re-run');
    second.child.stdin.end();
    expect(await second.exited).toBe(0);
  }, 90_000);
});
