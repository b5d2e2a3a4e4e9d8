import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { messageRequest, postToBolt, type SlackRequest } from '../fakes/slack/signed-request.js';
import { startBot, type BotProcess } from './bot-process.js';
import { slackConfigDir } from './slack-config.js';

const secret = 'test-signing-secret-0123456789';

/**
 * Channel chatter (a `message` event no listener acts on) is answered 200 by the receiver without
 * running Bolt's middleware; a message of the same shape that is addressed to the bot still goes
 * through Bolt and is recorded before the answer. Bolt's debug log says "ack() call begins" for
 * every event it processes: that line is how the test tells the two paths apart.
 */
describe('Slack in HTTP mode: chatter skips Bolt, addressed messages do not', () => {
  let slack: FakeSlack;
  let bot: BotProcess;
  let events: string;

  beforeAll(async () => {
    slack = await startFakeSlack();
    for (const [id, name] of [['C0DEPLOYS', 'deploys'], ['C0GENERAL', 'general']] as const) slack.addChannel(id, { name });
    bot = await startBot({
      cwd: slackConfigDir(),
      env: { SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl, LOG_LEVEL: 'debug' },
    });
    await bot.waitFor('Deckhand on Slack (HTTP mode');
    events = `http://127.0.0.1:${bot.port}/slack/events`;
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await slack?.close();
  });

  let sent = 0;
  const post = (request: SlackRequest) => {
    sent++;
    return postToBolt(events, secret, request);
  };

  /**
   * Events Bolt has processed among the requests sent so far (its ack() debug line, once per
   * event). The bot's log is read from a pipe, so first wait for the "request completed" line of
   * every request sent: Bolt's lines for a request come before it.
   */
  async function boltAcks(): Promise<number> {
    await bot.waitFor(new RegExp(`(?:"msg":"request completed"[^]*){${sent}}`), 10_000);
    return bot.stderr().split('\n').filter((line) => line.includes('ack() call begins')).length;
  }

  function seen(key: string): boolean {
    const db = new Database(path.join(bot.cwd, 'data', 'deckhand.db'), { readonly: true });
    try {
      return db.prepare("SELECT 1 FROM seen_keys WHERE scope = 'slack' AND key = ?").get(key) !== undefined;
    } finally {
      db.close();
    }
  }

  test('an ambient channel message: 200 with an empty body, never through Bolt, never recorded or answered', async () => {
    const acksBefore = await boltAcks();
    const postsBefore = slack.callsTo('chat.postMessage').length;
    const ambient = messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: 'we should deploy hello later', ts: '1700000001.000100' });
    const response = await post(ambient);
    expect({ status: response.status, text: response.text }).toEqual({ status: 200, text: '' });

    // The addressed message that follows proves the bot is working, and that what came before it was skipped.
    const addressed = messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: '!whoami', ts: '1700000001.000200' });
    const answered = await post(addressed);
    expect({ status: answered.status, text: answered.text }).toEqual({ status: 200, text: '' });
    const reply = await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'C0GENERAL' && String(c.body.text).startsWith('You are U0ALICE'), 10_000);
    expect(reply.body.text).toBe('You are U0ALICE. Roles: deployers. Permissions: deploy:*, lock:*.');

    expect((await boltAcks()) - acksBefore).toBe(1); // only the addressed message went through Bolt
    expect(seen('message:C0GENERAL:1700000001.000200')).toBe(true); // recorded before its 200
    expect(seen('message:C0GENERAL:1700000001.000100')).toBe(false);
    expect(slack.callsTo('chat.postMessage').length - postsBefore).toBe(1);
  });

  test('a direct message in the same shape is addressed (no prefix needed) and goes through Bolt', async () => {
    const acksBefore = await boltAcks();
    const dm = messageRequest({ channel: 'D0ALICE', user: 'U0ALICE', text: 'whoami', ts: '1700000002.000100' });
    expect((await post(dm)).status).toBe(200);
    await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'D0ALICE', 10_000);
    expect((await boltAcks()) - acksBefore).toBe(1);
    expect(seen('message:D0ALICE:1700000002.000100')).toBe(true);
  });

  test('edits, bot posts and channel mentions (app_mention answers those) are skipped too, each with a 200', async () => {
    const acksBefore = await boltAcks();
    const postsBefore = slack.callsTo('chat.postMessage').length;
    /** A channel message addressed by the prefix, changed into another kind of message event. */
    const changed = (ts: string, fields: Record<string, unknown>) => {
      const envelope = JSON.parse(messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: '!whoami', ts }).body) as { event: Record<string, unknown> };
      Object.assign(envelope.event, fields);
      return { body: JSON.stringify(envelope), contentType: 'application/json' } satisfies SlackRequest;
    };
    const skipped = [
      changed('1700000003.000100', { subtype: 'message_changed' }),
      changed('1700000003.000200', { subtype: 'bot_message', bot_id: 'B0OTHER' }),
      changed('1700000003.000300', { text: `<@${slack.workspace.botUserId}> whoami` }),
    ];
    for (const request of skipped) {
      const response = await post(request);
      expect({ status: response.status, text: response.text }).toEqual({ status: 200, text: '' });
    }
    // A last addressed message: it is answered, and it alone went through Bolt.
    expect((await post(messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: '!locks', ts: '1700000003.000400' }))).status).toBe(200);
    await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'C0GENERAL' && c.body.text === 'Nothing is locked.', 10_000);
    expect((await boltAcks()) - acksBefore).toBe(1);
    for (const ts of ['000100', '000200', '000300']) expect(seen(`message:C0GENERAL:1700000003.${ts}`)).toBe(false);
    expect(seen('message:C0GENERAL:1700000003.000400')).toBe(true);
    expect(slack.callsTo('chat.postMessage').length - postsBefore).toBe(1);
  });
});
