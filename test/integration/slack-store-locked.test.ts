import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { appMentionPayload, appMentionRequest, messagePayload, messageRequest, postToBolt, slashCommandRequest } from '../fakes/slack/signed-request.js';
import { startBot, type BotProcess } from './bot-process.js';
import { slackConfigDir } from './slack-config.js';

const secret = 'test-signing-secret-0123456789';

/**
 * "Never a 2xx for something not stored": in HTTP mode an addressed message is acknowledged only
 * once it is recorded as seen. While another connection holds the SQLite write lock past the bot's
 * busy_timeout (5 s) the store is away: Slack gets a 5xx, so it sends the message again, and that
 * retry is handled once. Channel chatter costs no write and is still answered 200.
 */
/** Slack messages remembered as seen under `key`, read from the bot's own SQLite file. */
function seen(bot: BotProcess, key: string): number {
  const db = new Database(path.join(bot.cwd, 'data', 'deckhand.db'), { readonly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM seen_keys WHERE scope = 'slack' AND key = ?").get(key) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Another process taking the bot's SQLite write lock, to hold it past the bot's busy_timeout. */
function lockStore(bot: BotProcess): Database.Database {
  const db = new Database(path.join(bot.cwd, 'data', 'deckhand.db'));
  db.exec('BEGIN EXCLUSIVE');
  return db;
}

function unlock(db: Database.Database | undefined): void {
  if (db?.inTransaction) db.exec('ROLLBACK');
  db?.close();
}

describe('Slack in HTTP mode with the store locked: no acknowledgement for what was not recorded', () => {
  let slack: FakeSlack;
  let bot: BotProcess;
  let events: string;
  let lock: Database.Database | undefined;

  beforeAll(async () => {
    slack = await startFakeSlack();
    for (const [id, name] of [['C0DEPLOYS', 'deploys'], ['C0GENERAL', 'general']] as const) slack.addChannel(id, { name });
    bot = await startBot({
      cwd: slackConfigDir(),
      env: { SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl, LOG_LEVEL: 'warn' },
    });
    await bot.waitFor('Deckhand on Slack (HTTP mode');
    events = `http://127.0.0.1:${bot.port}/slack/events`;
  });

  afterAll(async () => {
    unlock(lock);
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await slack?.close();
  });

  const repliesContaining = (text: string) => slack.callsTo('chat.postMessage').filter((c) => String(c.body.text).includes(text));

  test('locked: chatter 200, a mention and a slash command get no 2xx and no answer; unlocked: the retry runs exactly once', async () => {
    const text = `<@${slack.workspace.botUserId}> lock production because the store was away`;
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text });
    const mention = appMentionRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts });
    const command = slashCommandRequest({ command: '/deckhand', text: 'whoami', userId: 'U0ALICE', channelId: 'C0GENERAL' });

    // Another process takes the write lock and holds it past the bot's busy_timeout.
    lock = lockStore(bot);

    // Chatter needs no write: 200, lock or not (a write would fail and answer 500). Its latency is not
    // asserted: every write the bot tries meanwhile (heartbeat, job claims) stalls its event loop for
    // busy_timeout, since better-sqlite3 waits synchronously.
    expect((await postToBolt(events, secret, messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: 'the store is slow today' }))).status).toBe(200);

    // The mention cannot be recorded: not acknowledged, so Slack will send it again.
    const refused = await postToBolt(events, secret, mention);
    expect(refused.status).toBeGreaterThanOrEqual(500);
    // Nor the slash command (404 or 500, whichever Bolt answers first): Slack tells the person it failed.
    const refusedCommand = await postToBolt(events, secret, command);
    expect(refusedCommand.status).toBeGreaterThanOrEqual(400);

    // Chatter during the lock, after the failures: still 200.
    expect((await postToBolt(events, secret, messageRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text: 'still slow' }))).status).toBe(200);

    unlock(lock);
    lock = undefined;

    await new Promise((r) => setTimeout(r, 300));
    expect(repliesContaining('production')).toEqual([]); // nothing ran while the store was away
    expect(slack.callsTo('chat.postEphemeral')).toEqual([]);
    expect(seen(bot, `message:C0GENERAL:${ts}`)).toBe(0);

    // Slack's retry of the same event: recorded, acknowledged, run — once, however often it comes.
    const started = Date.now();
    expect((await postToBolt(events, secret, mention, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_error' })).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await postToBolt(events, secret, mention, { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_error' })).status).toBe(200);
    await slack.waitForCall('chat.postMessage', (c) => String(c.body.text).startsWith('Locked production'), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(repliesContaining('production').map((c) => c.body.text)).toEqual(['Locked production because the store was away.']);
    expect(seen(bot, `message:C0GENERAL:${ts}`)).toBe(1);
  }, 60_000);
});

describe('Slack in Socket Mode with the store locked: an envelope is acked only once recorded', () => {
  let slack: FakeSlack;
  let bot: BotProcess;
  let lock: Database.Database | undefined;

  beforeAll(async () => {
    slack = await startFakeSlack();
    for (const [id, name] of [['C0DEPLOYS', 'deploys'], ['C0GENERAL', 'general']] as const) slack.addChannel(id, { name });
    bot = await startBot({
      cwd: slackConfigDir(),
      env: { SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_APP_TOKEN: slack.workspace.appToken, SLACK_API_URL: slack.apiUrl, LOG_LEVEL: 'warn' },
    });
    await bot.waitFor('Deckhand on Slack (Socket Mode)');
    await slack.socket.waitForConnection();
  });

  afterAll(async () => {
    unlock(lock);
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await slack?.close();
  });

  test('locked: chatter acked, a mention not; unlocked: the redelivery is acked and runs exactly once', async () => {
    const text = `<@${slack.workspace.botUserId}> lock production because the socket store was away`;
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text });
    const envelope = { type: 'events_api' as const, envelope_id: 'env-locked-mention', payload: appMentionPayload({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts }) };

    lock = lockStore(bot);
    await slack.socket.sendEvent({ type: 'events_api', payload: messagePayload({ channel: 'C0GENERAL', user: 'U0ALICE', text: 'the store is slow today' }) }, { timeoutMs: 8000 });
    await expect(slack.socket.sendEvent(envelope, { timeoutMs: 8000 })).rejects.toThrow(/No ack/);
    unlock(lock);
    lock = undefined;

    await new Promise((r) => setTimeout(r, 300));
    expect(slack.socket.acks.filter((a) => a.envelope_id === envelope.envelope_id)).toEqual([]); // not even late
    expect(slack.callsTo('chat.postMessage').filter((c) => String(c.body.text).includes('production'))).toEqual([]);
    expect(seen(bot, `message:C0GENERAL:${ts}`)).toBe(0);

    // Slack's redelivery of the same envelope, then one more: acked both times, run once. Slack
    // redelivers over an open connection: a bot whose event loop a held lock stalled past the
    // client's pong timeout (5 s) reconnects first.
    await slack.socket.waitForConnection(15_000);
    await slack.socket.sendEvent({ ...envelope, retry_attempt: 1, retry_reason: 'timeout' });
    await slack.socket.sendEvent({ ...envelope, retry_attempt: 2, retry_reason: 'timeout' });
    await slack.waitForCall('chat.postMessage', (c) => String(c.body.text).startsWith('Locked production'), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.callsTo('chat.postMessage').filter((c) => String(c.body.text).includes('production')).map((c) => c.body.text)).toEqual([
      'Locked production because the socket store was away.',
    ]);
    expect(seen(bot, `message:C0GENERAL:${ts}`)).toBe(1);
  }, 60_000);
});
