import { WebClient } from '@slack/web-api';
import { ChannelQueue } from '../../adapters/slack/channel-queue.js';
import { DeploymentNotifier } from '../../adapters/slack/deployment-notifier.js';
import { EventBus } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Deployment } from '../../src/core/model.js';
import { startFakeSlack } from '../fakes/slack/fake-slack.js';
import { testConfig } from '../fixtures/config.js';
import { ManualClock } from '../fixtures/harness.js';

describe('a burst of deployment events to one rate-limited channel', () => {
  test('201 events for 67 deployments: nothing lost, order kept, edits preferred over new posts', async () => {
    const slack = await startFakeSlack();
    slack.addChannel('C0DEPLOYS', { name: 'deploys' });
    // Stricter than our own pacing, so 429 + Retry-After really happen.
    slack.rateLimit('chat.postMessage', { perSecondPerChannel: 10, retryAfter: 1 });
    slack.rateLimit('chat.update', { perSecondPerChannel: 10, retryAfter: 1 });

    const store = new SqliteStore(':memory:');
    await store.migrate();
    const clock = new ManualClock();
    const bus = new EventBus(store, clock, silentLogger);
    const client = new WebClient(slack.workspace.botToken, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    const base = testConfig();
    const config = { ...base, apps: { ...base.apps, hello: { ...base.apps.hello!, notify: 'C0DEPLOYS' } } };
    const queue = new ChannelQueue({ logger: silentLogger, intervalMs: 50 });
    const notifier = new DeploymentNotifier({ client, store, config, queue, logger: silentLogger, clock, outputFlushMs: 50 });
    bus.subscribe(notifier.onEvent);

    const finals = new Map<number, Deployment['state']>();
    const deployments: Deployment[] = [];
    for (let i = 0; i < 67; i++) {
      deployments.push(await store.createDeployment({ app: 'hello', environment: i % 2 ? 'staging' : 'production', ref: `r${i}`, provider: 'script', source: 'chat', requestedBy: 'U0ALICE', createdAt: clock.now().toISOString() }));
    }
    // The burst: every deployment queued, then started, then finished, as fast as the bus goes.
    for (const d of deployments) await bus.emit('deployment.queued', { deployment: d, waitingFor: null });
    for (const d of deployments) await bus.emit('deployment.started', { deployment: { ...d, state: 'running', startedAt: clock.now().toISOString() } });
    for (const [i, d] of deployments.entries()) {
      const state = i % 5 === 0 ? 'failed' : 'succeeded';
      finals.set(d.id, state);
      await bus.emit(state === 'failed' ? 'deployment.failed' : 'deployment.succeeded', { deployment: { ...d, state, startedAt: clock.now().toISOString(), finishedAt: clock.now().toISOString(), reason: state === 'failed' ? 'exited with code 1' : null } });
    }
    expect((await store.listEvents({ limit: 1000 })).length).toBe(201);

    await notifier.settle();
    const messages = slack.messages('C0DEPLOYS');
    // Nothing lost, nothing posted twice.
    expect(messages).toHaveLength(67);
    // Order kept: message n is deployment n.
    expect(messages.map((m) => Number(/#(\d+)/.exec(m.text ?? '')?.[1]))).toEqual(deployments.map((d) => d.id));
    // Every message shows its deployment's final state.
    for (const [i, m] of messages.entries()) expect(m.text).toBe(`Deployment #${deployments[i]!.id} hello/r${i} to ${deployments[i]!.environment}: ${finals.get(deployments[i]!.id)}`);
    // Rate limits were hit and honoured, and edits were merged: far fewer writes than events.
    const answered = (m: string) => slack.callsTo(m).filter((c) => c.response?.status === 200);
    const limited = [...slack.callsTo('chat.postMessage'), ...slack.callsTo('chat.update')].filter((c) => c.response?.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answered('chat.postMessage')).toHaveLength(67);
    expect(answered('chat.postMessage').length + answered('chat.update').length).toBeLessThan(201);

    await store.close();
    await slack.close();
  }, 60_000);
});
