import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeOctopus, type FakeOctopus } from '../fakes/octopus/fake-octopus.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { appMentionRequest, postToBolt } from '../fakes/slack/signed-request.js';
import { until } from '../fixtures/in-process.js';
import { startBot, type BotProcess } from './bot-process.js';

const secret = 'test-signing-secret-0123456789';

/**
 * The chat side of a take-over: two Deckhand processes on Slack (HTTP mode) and one store. The
 * deployment's notice is posted by the process that starts the Octopus deployment; that process is
 * killed (kill -9); the other one adopts the deployment, follows the same task and edits the same
 * notice to "succeeded" — one notice, never a "failed" in between, one Octopus deployment.
 */
describe('an Octopus deployment taken over after a kill -9, on Slack', () => {
  let slack: FakeSlack;
  let octopus: FakeOctopus;
  const bots: BotProcess[] = [];

  beforeAll(async () => {
    slack = await startFakeSlack();
    for (const [id, name] of [['C0DEPLOYS', 'deploys'], ['C0GENERAL', 'general']] as const) slack.addChannel(id, { name });
    octopus = await startFakeOctopus();
    octopus.addRelease('Core Web', '1.0.0');
  });
  afterAll(async () => {
    for (const bot of bots) if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    await Promise.all(bots.map((bot) => bot.exited));
    await slack?.close();
    await octopus?.close();
  });

  test('the other process edits the same notice to succeeded, once; Octopus deployed once', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-octo-slack-'));
    writeFileSync(
      path.join(cwd, 'deckhand.yaml'),
      `environments:
  staging: {}
apps:
  web:
    provider: { octopus: { project: "Core Web", poll: 50ms }, timeout: 5m }
    environments: [staging]
    notify: C0DEPLOYS
roles:
  deployers: { members: [U0ALICE], may: ["deploy:*"] }
`,
    );
    const dbFile = path.join(cwd, 'data', 'deckhand.db');
    const env = {
      SLACK_BOT_TOKEN: slack.workspace.botToken,
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: slack.apiUrl,
      OCTOPUS_URL: octopus.url,
      OCTOPUS_API_KEY: octopus.apiKey,
      DATABASE_URL: `sqlite:${dbFile}`,
      DECKHAND_HEARTBEAT: '3s',
      LOG_LEVEL: 'warn',
    };
    const start = async () => {
      const bot = await startBot({ cwd, env });
      bots.push(bot);
      await bot.waitFor('Deckhand on Slack (HTTP mode');
      return bot;
    };
    const row = () => {
      const db = new Database(dbFile, { readonly: true });
      try {
        return db.prepare('SELECT state, reason, run_owner, external FROM deployments WHERE id = 1').get() as { state: string; reason: string | null; run_owner: string; external: string | null } | undefined;
      } finally {
        db.close();
      }
    };
    const instanceOf = (pid: number | undefined) => {
      const db = new Database(dbFile, { readonly: true });
      try {
        return (db.prepare('SELECT id FROM instances WHERE pid = ?').get(pid) as { id: string } | undefined)?.id;
      } finally {
        db.close();
      }
    };
    const notices = () => slack.messages('C0DEPLOYS').filter((m) => m.bot_id !== undefined);

    octopus.nextTaskScript(['Queued', 'Executing']); // runs until the test ends it
    const a = await start();
    const b = await start();
    const text = `<@${slack.workspace.botUserId}> deploy web 1.0.0 to staging`;
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text });
    expect((await postToBolt(`http://127.0.0.1:${a.port}/slack/events`, secret, appMentionRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts }))).status).toBe(200);
    await until(() => Boolean(row()?.external && (JSON.parse(row()!.external!) as { taskId?: string }).taskId), 'deployment #1 to be linked to its Octopus task', 20_000);
    await until(() => notices().some((m) => m.text === 'Deployment #1 web/1.0.0 to staging: running'), 'the running notice', 20_000);
    const [notice] = notices();

    a.child.kill('SIGKILL');
    await a.exited;
    const bId = instanceOf(b.child.pid);
    await until(() => row()?.run_owner === bId, 'B to adopt deployment #1', 30_000);
    expect(row()).toMatchObject({ state: 'running', reason: null });

    const [created] = octopus.deployments();
    octopus.setTaskState(created!.TaskId, 'Success');
    await until(() => slack.message('C0DEPLOYS', notice!.ts)?.text === 'Deployment #1 web/1.0.0 to staging: succeeded', 'the notice to say succeeded', 30_000);
    expect(row()).toMatchObject({ state: 'succeeded', reason: null, run_owner: bId });
    // One notice, edited in place; it never said "failed"; Octopus deployed once.
    expect(notices().map((m) => m.ts)).toEqual([notice!.ts]);
    const versions = slack.callsTo('chat.update').filter((c) => c.body.ts === notice!.ts).map((c) => String(c.body.text));
    expect(versions.filter((t) => t.endsWith(': succeeded'))).toHaveLength(1);
    expect(versions.some((t) => /failed|cancelled|interrupted/.test(t))).toBe(false);
    expect(octopus.callsTo('POST', /\/deployments$/)).toHaveLength(1);
    expect(octopus.deployments()).toHaveLength(1);
  }, 90_000);
});
