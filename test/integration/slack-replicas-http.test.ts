import { replicaBackends } from '../fixtures/replicas.js';
import { until } from '../fixtures/in-process.js';
import { appMentionRequest, blockActionsRequest, messageRequest, postToBolt } from '../fakes/slack/signed-request.js';
import { signingSecret, slackReplicas, type SlackReplicas } from './slack-replicas-setup.js';

/**
 * Slack HTTP mode with several replicas behind a load balancer: any replica may get any request,
 * and Slack's retry of an event (x-slack-retry-num) may reach another replica than the first try —
 * even while the first is still being handled. Each event is recorded by its id in the shared store
 * before it is answered, so it runs once, wherever its copies land.
 */
let setup: SlackReplicas | undefined;
afterEach(async () => {
  await setup?.cleanup();
  setup = undefined;
});

const answersIn = (s: SlackReplicas, channel: string) => s.slack.callsTo('chat.postMessage').filter((c) => c.body.channel === channel && c.response?.status === 200);

describe.each(await replicaBackends())('Slack HTTP mode, two replicas behind a load balancer, on %s', (backend) => {
  test('requests alternate; Slack retrying each event at the other replica at the same time: answered once', async () => {
    const s = (setup = await slackReplicas({ backend }));
    const replicas = [await s.start('http', 'a'), await s.start('http', 'b')];
    const url = (n: number) => `http://127.0.0.1:${replicas[n % 2]!.port}/slack/events`;
    const dms = Array.from({ length: 10 }, (_, i) => `D${String(i + 1).padStart(4, '0')}`);
    for (const [n, channel] of dms.entries()) {
      s.slack.addChannel(channel, { name: channel.toLowerCase() });
      const request = messageRequest({ channel, user: 'U0ALICE', text: 'whoami' });
      const [first, retry] = await Promise.all([
        postToBolt(url(n), signingSecret, request),
        postToBolt(url(n + 1), signingSecret, request, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' }),
      ]);
      expect([first.status, retry.status]).toEqual([200, 200]);
    }
    await until(() => dms.every((ch) => answersIn(s, ch).length > 0), 'every command to be answered', 20_000);
    await new Promise((r) => setTimeout(r, 1000)); // a second answer would show up now
    expect(dms.map((ch) => answersIn(s, ch).length)).toEqual(dms.map(() => 1));
    expect(answersIn(s, 'D0001')[0]?.body.text).toMatch(/^You are U0ALICE\./);
  }, 60_000);

  test('an approval click delivered to both replicas at once is decided once', async () => {
    const s = (setup = await slackReplicas({ backend }));
    s.slack.addChannel('C0GENERAL', { name: 'general' });
    s.slack.addChannel('C0DEPLOYS', { name: 'deploys' });
    const [a, b] = [await s.start('http', 'a'), await s.start('http', 'b')];
    const events = (port: number) => `http://127.0.0.1:${port}/slack/events`;
    const text = `<@${s.slack.workspace.botUserId}> deploy hello/v2 to prod`;
    const ts = s.slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text });
    expect((await postToBolt(events(a.port), signingSecret, appMentionRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts }))).status).toBe(200);
    await s.slack.waitForCall('chat.postMessage', (c) => String(c.body.text).endsWith('needs approval'), 15_000);
    const posted = s.slack.messages('C0DEPLOYS').find((m) => m.text?.endsWith('needs approval'));
    const actions = (posted?.blocks as Array<{ type: string; block_id?: string; elements?: Array<{ action_id: string; value: string }> }>).find((x) => x.type === 'actions');
    // One click (one trigger_id), delivered to both.
    const click = blockActionsRequest({ userId: 'U0CAROL', channelId: 'C0DEPLOYS', message: { ts: posted!.ts }, actions: [{ action_id: 'deckhand_approve', block_id: actions!.block_id!, value: actions!.elements![0]!.value }] });
    const responses = await Promise.all([postToBolt(events(a.port), signingSecret, click), postToBolt(events(b.port), signingSecret, click)]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    await s.slack.waitForCall('chat.update', (c) => /hello\/v2 to production: succeeded$/.test(String(c.body.text)), 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    // Decided once: no "already approved" for the second copy, one approval event.
    expect(s.slack.callsTo('chat.postEphemeral').filter((c) => c.body.user === 'U0CAROL')).toEqual([]);
    const granted = await s.rows<{ n: number }>(`SELECT COUNT(*) AS n FROM events WHERE type = 'approval.granted'`);
    expect(Number(granted[0]?.n)).toBe(1);
  }, 60_000);
});
