import { startSlackAdapter, type SlackAdapter } from '../../adapters/slack/slack-adapter.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { startFakeSlack, type FakeSlack, type RecordedCall } from '../fakes/slack/fake-slack.js';
import { appMentionRequest, postToBolt } from '../fakes/slack/signed-request.js';
import { testConfig } from '../fixtures/config.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';

const secret = 'test-signing-secret-0123456789';

/**
 * The real Bolt App in HTTP mode on Deckhand's server, a fake Slack that holds calls so the order
 * is decided by the queue and not by timing. `hello` has no notify channel: its live message goes
 * to the channel that asked, the same channel the reply goes to.
 */
describe('in the asking channel, the reply to a person goes before emoji and notice edits', () => {
  let slack: FakeSlack;
  let h: InProcess;
  let adapter: SlackAdapter;
  let events: string;
  const held: Array<() => void> = [];

  beforeAll(async () => {
    slack = await startFakeSlack();
    slack.addChannel('C0GENERAL', { name: 'general' });
    const config = testConfig();
    h = await startInProcess({ config, listen: false });
    adapter = await startSlackAdapter({
      botToken: slack.workspace.botToken,
      signingSecret: secret,
      apiUrl: slack.apiUrl,
      slashCommand: '/deckhand',
      http: h.deckhand.http,
      dispatcher: h.deckhand.dispatcher,
      actions: h.deckhand.actions,
      bus: h.deckhand.bus,
      store: h.store,
      config,
      logger: silentLogger,
      clock: systemClock,
      channelIntervalMs: 20,
      outputFlushMs: 50,
    });
    h.deckhand.setChat(adapter.chat);
    events = `${await h.deckhand.http.listen({ port: 0, host: '127.0.0.1' })}/slack/events`;
  });

  afterAll(async () => {
    held.forEach((release) => release()); // so the queue can drain even after a failure
    await adapter?.stop();
    await h?.close();
    await slack?.close();
  });

  const mention = async (command: string) => {
    const text = `<@${slack.workspace.botUserId}> ${command}`;
    const ts = slack.addUserMessage('C0GENERAL', { user: 'alice', text });
    expect((await postToBolt(events, secret, appMentionRequest({ channel: 'C0GENERAL', user: 'alice', text, ts }))).status).toBe(200);
    return ts;
  };
  const textOf = (c: RecordedCall) => `${c.method} ${String(c.body.name ?? c.body.text)}`;

  test('a command while its own deployment\'s notices and emoji are still queued', async () => {
    // The live message and the first emoji stay in flight until released.
    const releasePosts = slack.hold('chat.postMessage');
    const releaseReactions = slack.hold('reactions.add');
    held.push(releasePosts, releaseReactions);
    const asked = await mention('deploy hello to stg');
    await until(async () => (await h.store.getDeployment(1))?.state === 'succeeded', 'deployment #1 to finish');
    // Everything the deployment set off is queued by now: its edits, its output, 🚀 and ✅.
    await mention('whoami');
    await until(() => slack.callsTo('chat.postMessage').length === 1, 'the live message to be in flight');

    // The live message is answered; the emoji stays in flight, and must not hold up the replies.
    releasePosts();
    const whoami = await slack.waitForCall('chat.postMessage', (c) => String(c.body.text).startsWith('You are alice'), 5_000);
    const queued = await slack.waitForCall('chat.postMessage', (c) => c.body.text === 'Deployment #1 hello/main to staging queued.', 5_000);
    expect(slack.callsTo('reactions.add').map((c) => [c.body.name, c.response?.status])).toEqual([['eyes', undefined]]);

    releaseReactions();
    await slack.waitForCall('reactions.add', (c) => c.body.name === 'white_check_mark', 5_000);
    await slack.waitForCall('chat.update', (c) => String(c.body.text).endsWith(': succeeded'), 5_000);
    await adapter.notifier.settle();

    // In the order Slack received them: the live message, already on its way, then both replies,
    // then the edit and the emoji that had been queued before the second reply.
    const order = slack.calls.filter((c) => ['chat.postMessage', 'chat.update', 'reactions.add'].includes(c.method) && !c.body.thread_ts).map(textOf);
    expect(order.indexOf(textOf(queued))).toBe(order.indexOf('chat.postMessage Deployment #1 hello/main to staging: queued') + 1);
    expect(order.indexOf(textOf(whoami))).toBe(order.indexOf(textOf(queued)) + 1);
    const firstEdit = order.findIndex((c) => c.startsWith('chat.update'));
    expect(firstEdit).toBeGreaterThan(order.indexOf(textOf(whoami)));
    expect(order.indexOf('reactions.add rocket')).toBeGreaterThan(order.indexOf(textOf(whoami)));
    expect(order.indexOf('reactions.add white_check_mark')).toBeGreaterThan(order.indexOf(textOf(whoami)));

    // Nothing lost, nothing out of order within its kind.
    expect(slack.message('C0GENERAL', asked)?.reactions.map((r) => r.name)).toEqual(['eyes', 'rocket', 'white_check_mark']);
    const notice = slack.messages('C0GENERAL').find((m) => m.text?.startsWith('Deployment #1 hello/main to staging:'));
    expect(notice?.text).toBe('Deployment #1 hello/main to staging: succeeded');
  });
});
