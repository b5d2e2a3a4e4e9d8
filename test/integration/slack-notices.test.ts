import { Writable } from 'node:stream';
import { WebClient } from '@slack/web-api';
import { ChannelQueue } from '../../adapters/slack/channel-queue.js';
import { DeploymentNotifier } from '../../adapters/slack/deployment-notifier.js';
import { EventBus } from '../../src/core/events.js';
import { createLogger } from '../../src/core/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { testConfig } from '../fixtures/config.js';
import { ManualClock } from '../fixtures/harness.js';

async function setup(slack: FakeSlack) {
  const store = new SqliteStore(':memory:');
  await store.migrate();
  const clock = new ManualClock();
  const errors: string[] = [];
  const logger = createLogger('error', new Writable({ write: (chunk, _e, done) => (errors.push(String(chunk)), done()) }));
  const bus = new EventBus(store, clock, logger);
  const client = new WebClient(slack.workspace.botToken, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
  const queue = new ChannelQueue({ logger, intervalMs: 5 });
  const notifier = new DeploymentNotifier({ client, store, config: testConfig(), queue, logger, clock, outputFlushMs: 20, maxLinesPerPost: 3, publicUrl: () => 'https://deckhand.test' });
  bus.subscribe(notifier.onEvent);
  bus.subscribeOutput(notifier.onOutput);
  return { store, bus, notifier, errors, clock };
}

describe('deployment notices on Slack', () => {
  let slack: FakeSlack;
  beforeEach(async () => {
    slack = await startFakeSlack();
    slack.addChannel('C0GENERAL', { name: 'general' });
  });
  afterEach(async () => slack.close());

  test('without a notify channel, notices go to the room that asked; already_reacted counts as done; output is batched', async () => {
    const { store, bus, notifier, errors } = await setup(slack);
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text: 'deploy hello' });
    const d = await store.createDeployment({
      app: 'hello', environment: 'staging', ref: 'main', provider: 'script', source: 'chat', requestedBy: 'U0ALICE', createdAt: '2026-11-23T10:00:00.000Z',
      origin: { adapter: 'slack', room: 'C0GENERAL', messageId: ts },
    });
    await bus.emit('deployment.queued', { deployment: d, waitingFor: null });
    await bus.emit('deployment.queued', { deployment: d, waitingFor: null }); // e.g. a replayed event
    const running = { ...d, state: 'running' as const, startedAt: '2026-11-23T10:00:01.000Z' };
    await bus.emit('deployment.started', { deployment: running });
    for (const n of [1, 2, 3, 4, 5]) bus.output(running, `line ${n} <!channel>`, 'stdout');
    await bus.emit('deployment.succeeded', { deployment: { ...running, state: 'succeeded', finishedAt: '2026-11-23T10:00:03.000Z' } });
    await notifier.settle();

    const [notice, ...others] = slack.messages('C0GENERAL').filter((m) => m.user !== 'U0ALICE');
    expect(others).toEqual([]);
    expect(notice?.text).toBe('Deployment #1 hello/main to staging: succeeded');
    expect(JSON.stringify(notice?.blocks)).toContain(`<https://deckhand.test/deployments/1/log?token=${d.logToken}|full log>`);
    expect(slack.message('C0GENERAL', ts)?.reactions.map((r) => r.name)).toEqual(['eyes', 'rocket', 'white_check_mark']);
    expect(slack.callsTo('reactions.add').map((c) => c.response?.body)).toContainEqual(expect.objectContaining({ error: 'already_reacted' }));
    // The thread got the output, the oldest lines summarised, and no broadcast mention got through.
    const replies = notice?.replies.map((r) => r.text) ?? [];
    expect(replies).toEqual(['```… 2 earlier lines\nline 3 &lt;!channel&gt;\nline 4 &lt;!channel&gt;\nline 5 &lt;!channel&gt;```']);
    expect(errors.join('')).toBe('');
  });

  test('a request that came from the terminal gets no Slack notices unless the app has a notify channel', async () => {
    const { store, bus, notifier } = await setup(slack);
    const d = await store.createDeployment({ app: 'hello', environment: 'staging', ref: 'main', provider: 'script', source: 'chat', requestedBy: 'shell:bob', createdAt: '2026-11-23T10:00:00.000Z', origin: { adapter: 'shell', room: 'shell', messageId: 'shell-1' } });
    await bus.emit('deployment.queued', { deployment: d, waitingFor: null });
    await notifier.settle();
    expect(slack.callsTo('chat.postMessage')).toEqual([]);
    expect(slack.callsTo('reactions.add')).toEqual([]);
  });
});
