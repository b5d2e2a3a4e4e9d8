import { slackChannelBurst } from '../../adapters/slack/slack-adapter.js';
import { replicaBackends } from '../fixtures/replicas.js';
import { until } from '../fixtures/in-process.js';
import type { RecordedCall } from '../fakes/slack/fake-slack.js';
import { appMentionRequest, postToBolt } from '../fakes/slack/signed-request.js';
import { signingSecret, slackReplicas, type SlackReplicas } from './slack-replicas-setup.js';

/**
 * Slack allows about one message a second per channel, with short bursts — per channel, not per
 * process. Two real Deckhand processes on one store post into one channel of the fake Slack — the
 * answers to chat commands each process received (a process answers what it received), and
 * webhook-triggered reactions (jobs either process may run), each posting three messages in order:
 * the fake records when each post arrived, and whichever process sent them, no window holds more
 * than the burst plus one per interval (the GCRA bound, less a small tolerance). Nothing is lost,
 * nothing posted twice, and the messages of one webhook keep their order — with 429s too.
 */
const key = 'pacing-trigger-key-0123456789';
const channel = 'C0BURST';
const webhooks = 4;
/** whoami commands per process. */
const commands = 2;
const steps = 3;
/** Slack's interval and burst: the defaults, as in production. */
const intervalMs = 1000;
const maxBurst = slackChannelBurst;
/**
 * The tolerance: a send may start up to a quarter interval after its slot (later, it takes
 * another), and its request then takes a moment to arrive — allowed up to 150 ms here, for a
 * loaded test machine.
 */
const slackMs = 250 + 150;

/**
 * The most posts any stretch [first, last] of arrivals holds beyond what one per interval allows:
 * max over i ≤ j of (j − i + 1) − floor((t_j − t_i + tolerance) / interval). GCRA keeps the slots'
 * at most the burst; so the arrivals', each up to the tolerance after its slot. (Burst 1: no two
 * arrive closer than the interval less the tolerance.)
 */
function worstExcess(arrivals: number[]): number {
  const t = [...arrivals].sort((x, y) => x - y);
  let worst = 0;
  for (let i = 0; i < t.length; i++) {
    for (let j = i; j < t.length; j++) worst = Math.max(worst, j - i + 1 - Math.floor(((t[j] as number) - (t[i] as number) + slackMs) / intervalMs));
  }
  return worst;
}

// Each replica says who it is: ${env.REPLICA} is read when the reaction loads.
const announce = `on:
  webhook: announce
  auth: { api_key: "\${secret.ANNOUNCE_KEY}" }
do:
${Array.from({ length: steps }, (_, i) => `  - chat: { channel: ${channel}, text: "{{ payload.id }} step ${i + 1} from \${env.REPLICA}" }`).join('\n')}
`;

let setup: SlackReplicas | undefined;
afterEach(async () => {
  await setup?.cleanup();
  setup = undefined;
});

const posts = (calls: RecordedCall[]) => calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === channel);

/** Fires the webhooks and commands alternately at the two processes and waits until every message is in the channel. */
async function burst(s: SlackReplicas, ports: number[]): Promise<void> {
  for (let n = 0; n < commands; n++) {
    for (const port of ports) {
      const text = `<@${s.slack.workspace.botUserId}> whoami`;
      const ts = s.slack.addUserMessage(channel, { user: 'U0ALICE', text });
      expect((await postToBolt(`http://127.0.0.1:${port}/slack/events`, signingSecret, appMentionRequest({ channel, user: 'U0ALICE', text, ts }))).status).toBe(200);
    }
  }
  const responses = await Promise.all(
    Array.from({ length: webhooks }, (_, n) =>
      fetch(`http://127.0.0.1:${ports[n % ports.length]}/triggers/announce`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ id: `w${n}` }),
      }),
    ),
  );
  expect(responses.map((r) => r.status)).toEqual(Array.from({ length: webhooks }, () => 202));
  await until(() => s.slack.messages(channel).filter((m) => m.user === s.slack.workspace.botUserId).length >= webhooks * steps + commands * ports.length, 'every message to be posted', 60_000);
  // A moment more: anything posted twice would show up now.
  await new Promise((r) => setTimeout(r, 1500));
}

function expectPacedAndComplete(s: SlackReplicas): void {
  const sent = posts(s.slack.calls);
  // Every request into the channel (a 429'd one too), from either process: at most the burst at
  // once, then one per interval ...
  expect(worstExcess(sent.map((c) => c.at))).toBeLessThanOrEqual(maxBurst);
  // ... and the burst is used: the first answers went together, closer than strict pacing allows.
  expect(worstExcess(sent.map((c) => c.at))).toBeGreaterThanOrEqual(2);
  const bot = s.slack.messages(channel).filter((m) => m.user === s.slack.workspace.botUserId);
  // Each process answered the commands it received: both posted into the channel.
  expect(bot.filter((m) => String(m.text).startsWith('You are U0ALICE.'))).toHaveLength(commands * 2);
  // Each reaction message exactly once ...
  const what = bot.map((m) => String(m.text)).filter((t) => t.includes(' from ')).map((t) => t.split(' from ')[0] as string);
  expect([...what].sort()).toEqual(Array.from({ length: webhooks }, (_, n) => Array.from({ length: steps }, (_, i) => `w${n} step ${i + 1}`)).flat().sort());
  // ... and the messages of one webhook in their order.
  for (let n = 0; n < webhooks; n++) expect(what.filter((t) => t.startsWith(`w${n} `))).toEqual(Array.from({ length: steps }, (_, i) => `w${n} step ${i + 1}`));
}

describe.each(await replicaBackends())('two Slack replicas on %s posting into one channel', (backend) => {
  test('share its pace: a burst, then one per interval; nothing lost, nothing twice, order kept', async () => {
    const s = (setup = await slackReplicas({ backend, reactions: { announce }, env: { ANNOUNCE_KEY: key } }));
    s.slack.addChannel(channel, { name: 'burst' });
    const a = await s.start('http', 'a');
    const b = await s.start('http', 'b');
    await burst(s, [a.port, b.port]);
    expectPacedAndComplete(s);
    expect(posts(s.slack.calls).every((c) => c.response?.status === 200)).toBe(true);
  }, 90_000);

  test('with 429s from Slack: still nothing lost, nothing twice, order kept, pace kept', async () => {
    const s = (setup = await slackReplicas({ backend, reactions: { announce }, env: { ANNOUNCE_KEY: key } }));
    s.slack.addChannel(channel, { name: 'burst' });
    const a = await s.start('http', 'a');
    const b = await s.start('http', 'b');
    s.slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 }, 4);
    await burst(s, [a.port, b.port]);
    expectPacedAndComplete(s);
    expect(posts(s.slack.calls).filter((c) => c.response?.status === 429)).toHaveLength(4);
  }, 90_000);
});
