import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { appMentionRequest, blockActionsRequest, messageRequest, postToBolt, signSlackRequest, slashCommandRequest, urlVerificationRequest } from '../fakes/slack/signed-request.js';
import { startBot, type BotProcess } from './bot-process.js';
import { slackConfigDir } from './slack-config.js';

const secret = 'test-signing-secret-0123456789';

describe('Slack in HTTP mode: the real bot process, the real Bolt App, a fake Slack API', () => {
  let slack: FakeSlack;
  let bot: BotProcess;
  let events: string;

  beforeAll(async () => {
    slack = await startFakeSlack();
    for (const [id, name] of [['C0DEPLOYS', 'deploys'], ['C0GENERAL', 'general']] as const) slack.addChannel(id, { name });
    const cwd = slackConfigDir();
    bot = await startBot({
      cwd,
      env: { SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl, LOG_LEVEL: 'warn' },
    });
    await bot.waitFor('Deckhand on Slack (HTTP mode');
    events = `http://127.0.0.1:${bot.port}/slack/events`;
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await slack?.close();
  });

  test('answers Slack\'s URL verification', async () => {
    const response = await postToBolt(events, secret, urlVerificationRequest('challenge-xyz'));
    expect(response.status).toBe(200);
    expect(response.text).toContain('challenge-xyz');
  });

  test('refuses bad and stale signatures (401) and malformed bodies (400)', async () => {
    const request = urlVerificationRequest();
    expect((await postToBolt(events, 'wrong-secret-wrong-secret', request)).status).toBe(401);
    const stale = signSlackRequest(secret, request.body, Math.floor(Date.now() / 1000) - 600);
    expect((await postToBolt(events, secret, request, { ...stale })).status).toBe(401);
    expect((await postToBolt(events, secret, request, { 'x-slack-signature': 'v0=' })).status).toBe(401);
    expect((await postToBolt(events, secret, { body: '{"type": "event_callback", ', contentType: 'application/json' })).status).toBe(400);
    // The process is still healthy afterwards.
    expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status).toBe(200);
  });

  test('a mention deploys: one live message edited in place, reactions on the request, output in the thread', async () => {
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text: `<@${slack.workspace.botUserId}> deploy hello to stg` });
    const request = appMentionRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: `<@${slack.workspace.botUserId}> deploy hello to stg`, ts });
    const started = Date.now();
    const response = await postToBolt(events, secret, request);
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000); // acknowledged within Slack's 3 seconds

    const reply = await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'C0GENERAL', 10_000);
    expect(reply.body.text).toBe('Deployment #1 hello/main to staging queued.');

    await slack.waitForCall('reactions.add', (c) => c.body.name === 'white_check_mark', 15_000);
    // The emoji has a lane of its own: the notice's last edit may still wait for its channel's slot.
    await slack.waitForCall('chat.update', (c) => c.body.channel === 'C0DEPLOYS' && String(c.body.text).endsWith(': succeeded'), 15_000);
    const [notice] = slack.messages('C0DEPLOYS');
    expect(notice?.text).toBe('Deployment #1 hello/main to staging: succeeded');
    expect(JSON.stringify(notice?.blocks)).toContain(':white_check_mark: *Deployment #1* hello/main to staging — *succeeded*');
    expect(JSON.stringify(notice?.blocks)).toMatch(new RegExp(`<http://localhost:${bot.port}/deployments/1/log\\?token=[\\w-]+\\|full log>`));
    expect(slack.messages('C0DEPLOYS')).toHaveLength(1); // edited, never re-posted
    expect(slack.callsTo('chat.update').length).toBeGreaterThanOrEqual(1);

    const request_ = slack.message('C0GENERAL', ts);
    expect(request_?.reactions.map((r) => r.name)).toEqual(['eyes', 'rocket', 'white_check_mark']);

    await slack.waitForCall('chat.postMessage', (c) => c.body.thread_ts === notice?.ts, 10_000);
    const thread = slack.message('C0DEPLOYS', notice?.ts ?? '')?.replies.map((r) => r.text).join('\n');
    expect(thread).toContain('Deploying hello@main to staging (deployment #1, requested by U0ALICE)');
    expect(thread).toContain('Done.');
  });

  test('Slack retries and double deliveries never run a command twice', async () => {
    const text = `<@${slack.workspace.botUserId}> lock production because retry test`;
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text });
    const mention = appMentionRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts });
    expect((await postToBolt(events, secret, mention)).status).toBe(200);
    expect((await postToBolt(events, secret, mention, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(200);
    // The same message also arrives as a plain message event.
    expect((await postToBolt(events, secret, messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts }))).status).toBe(200);
    await slack.waitForCall('chat.postMessage', (c) => String(c.body.text).startsWith('Locked production'), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const replies = slack.callsTo('chat.postMessage').filter((c) => String(c.body.text).includes('production'));
    expect(replies.map((c) => c.body.text)).toEqual(['Locked production because retry test.']);
  });

  /** Slack messages of #general remembered as seen, read from the bot's own SQLite file. */
  function seenInGeneral(): number {
    const db = new Database(path.join(bot.cwd, 'data', 'deckhand.db'), { readonly: true });
    try {
      return (db.prepare("SELECT COUNT(*) AS n FROM seen_keys WHERE scope = 'slack' AND key LIKE 'message:C0GENERAL:%'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  test('prefix in channels, plain text in DMs, nothing for chatter', async () => {
    const before = slack.callsTo('chat.postMessage').length;
    const seenBefore = seenInGeneral();
    expect((await postToBolt(events, secret, messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: 'we should deploy hello later' }))).status).toBe(200);
    expect((await postToBolt(events, secret, messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: '!locks' }))).status).toBe(200);
    const locks = await slack.waitForCall('chat.postMessage', (c) => String(c.body.text).startsWith('Locks:'), 10_000);
    expect(locks.body.channel).toBe('C0GENERAL');
    expect((await postToBolt(events, secret, messageRequest({ channel: 'D0ALICE', user: 'U0ALICE', text: 'whoami' }))).status).toBe(200);
    const dm = await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'D0ALICE', 10_000);
    expect(dm.body.text).toBe('You are U0ALICE. Roles: deployers. Permissions: deploy:*, lock:*.');
    expect(slack.callsTo('chat.postMessage').length - before).toBe(2);
    // Chatter is dropped before any write: of the two channel messages, only the addressed one is remembered as seen.
    expect(seenInGeneral() - seenBefore).toBe(1);
  });

  test('the slash command answers privately, with the same permissions', async () => {
    const response = await postToBolt(events, secret, slashCommandRequest({ command: '/deckhand', text: 'deploy hello to prod', userId: 'U0BOB', channelId: 'C0GENERAL' }));
    expect(response.status).toBe(200);
    await slack.waitForCall('chat.postEphemeral', (c) => c.body.user === 'U0BOB', 10_000);
    const [answer] = slack.ephemeralMessages('C0GENERAL').filter((m) => m.user === 'U0BOB');
    expect(answer?.text).toContain('You (U0BOB) are not allowed to do that: it needs deploy:production. Roles that have it: deployers.');
  });

  test('approval buttons: only an approver; the buttons go once decided; a double click is harmless', async () => {
    // The retry test above left production locked.
    await postToBolt(events, secret, messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: '!unlock production' }));
    await slack.waitForCall('chat.postMessage', (c) => /^(Unlocked production|production is not locked)/.test(String(c.body.text)), 10_000);
    const text = `<@${slack.workspace.botUserId}> deploy hello/v2 to prod`;
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text });
    await postToBolt(events, secret, appMentionRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts }));
    const request = await slack.waitForCall('chat.postMessage', (c) => String(c.body.text).endsWith('needs approval'), 10_000);
    const posted = slack.messages('C0DEPLOYS').find((m) => m.text?.endsWith('needs approval'));
    expect(request.body.channel).toBe('C0DEPLOYS');
    const actions = (posted?.blocks as Array<{ type: string; block_id?: string; elements?: Array<{ action_id: string; value: string }> }>).find((b) => b.type === 'actions');
    expect(actions?.elements?.map((e) => e.action_id)).toEqual(['deckhand_approve', 'deckhand_deny']);
    const click = (userId: string) =>
      postToBolt(
        events,
        secret,
        blockActionsRequest({ userId, channelId: 'C0DEPLOYS', message: { ts: posted!.ts }, actions: [{ action_id: 'deckhand_approve', block_id: actions!.block_id!, value: actions!.elements![0]!.value }] }),
      );

    expect((await click('U0ALICE')).status).toBe(200);
    const refused = await slack.waitForCall('chat.postEphemeral', (c) => c.body.user === 'U0ALICE' && c.body.channel === 'C0DEPLOYS', 10_000);
    expect(refused.body.text).toBe("You (U0ALICE) can't approve deployments to production. Approvers: U0CAROL.");

    expect((await click('U0CAROL')).status).toBe(200);
    await slack.waitForCall('chat.update', (c) => String(c.body.text).endsWith(': approved'), 10_000);
    const decided = slack.message('C0DEPLOYS', posted!.ts);
    expect(JSON.stringify(decided?.blocks)).toContain(':white_check_mark: Approved by <@U0CAROL>');
    expect(JSON.stringify(decided?.blocks)).not.toContain('deckhand_approve');

    expect((await click('U0CAROL')).status).toBe(200);
    const again = await slack.waitForCall('chat.postEphemeral', (c) => c.body.user === 'U0CAROL', 10_000);
    expect(again.body.text).toMatch(/was already approved by U0CAROL/);

    await slack.waitForCall('chat.update', (c) => /hello\/v2 to production: succeeded$/.test(String(c.body.text)), 15_000);
  });
});
