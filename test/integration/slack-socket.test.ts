import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { appMentionPayload, slashCommandPayload } from '../fakes/slack/signed-request.js';
import { startBot, type BotProcess } from './bot-process.js';
import { slackConfigDir } from './slack-config.js';

describe('Slack in Socket Mode: no public URL, events over the WebSocket', () => {
  let slack: FakeSlack;
  let bot: BotProcess;

  beforeAll(async () => {
    slack = await startFakeSlack();
    slack.addChannel('C0DEPLOYS', { name: 'deploys' });
    slack.addChannel('C0GENERAL', { name: 'general' });
    bot = await startBot({
      cwd: slackConfigDir(),
      env: { SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_APP_TOKEN: slack.workspace.appToken, SLACK_API_URL: slack.apiUrl, LOG_LEVEL: 'warn' },
    });
    await bot.waitFor('Deckhand on Slack (Socket Mode)');
    await slack.socket.waitForConnection();
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await slack?.close();
  });

  test('a mention over the socket is acknowledged and answered', async () => {
    const text = `<@${slack.workspace.botUserId}> deploy hello/feature-x`;
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text });
    const ack = await slack.socket.sendEvent({ type: 'events_api', payload: appMentionPayload({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts }) });
    expect(ack.envelope_id).toBeDefined();
    const reply = await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'C0GENERAL', 10_000);
    expect(reply.body.text).toBe('Deployment #1 hello/feature-x to staging queued.');
    await slack.waitForCall('chat.update', (c) => String(c.body.text).endsWith('succeeded'), 15_000);
    expect(slack.messages('C0DEPLOYS')[0]?.text).toBe('Deployment #1 hello/feature-x to staging: succeeded');
  });

  test('a slash command over the socket; an unknown command gets "did you mean"', async () => {
    const ack = await slack.socket.sendEvent({
      type: 'slash_commands',
      payload: slashCommandPayload({ command: '/deckhand', text: 'depoly hello', userId: 'U0ALICE', channelId: 'C0GENERAL' }),
    });
    expect(ack.envelope_id).toBeDefined();
    const answer = await slack.waitForCall('chat.postEphemeral', (c) => c.body.user === 'U0ALICE', 10_000);
    expect(answer.body.text).toBe('I don\'t know the command "depoly". Did you mean: deploy? Say "help" for the list.');
  });

  test('a Slack API failure while answering does not stop the bot', async () => {
    slack.failNext('chat.postEphemeral', { status: 500 }, 10);
    await slack.socket.sendEvent({ type: 'slash_commands', payload: slashCommandPayload({ command: '/deckhand', text: 'whoami', userId: 'U0ALICE', channelId: 'C0GENERAL' }) });
    await new Promise((r) => setTimeout(r, 1500));
    await slack.socket.sendEvent({ type: 'slash_commands', payload: slashCommandPayload({ command: '/deckhand', text: 'locks', userId: 'U0ALICE', channelId: 'C0GENERAL' }) });
    expect(bot.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status).toBe(200);
  });
});
