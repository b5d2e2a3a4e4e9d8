import { createHmac } from 'node:crypto';
import { until } from '../fixtures/in-process.js';
import { replicaBackends } from '../fixtures/replicas.js';
import type { BotProcess } from './bot-process.js';
import { slackReplicas, type SlackReplicas } from './slack-replicas-setup.js';

/**
 * Exactly once, end to end: N HMAC-signed /triggers deliveries spread over two replicas on Slack
 * (HTTP mode, real processes, one store), whose reaction posts one message into one of CHANNELS
 * channels on the fake Slack. Each replica is killed with SIGKILL once and started again — at a
 * moment when a message it sent is stored in Slack and its answer has not come back (the fake
 * holds chat.postMessage answers for that moment), so the kill falls between the post and the
 * checkpoint. The sender behaves like a load balancer with retries. At the end the fake Slack
 * holds exactly one message for every delivery (0 lost, 0 twice), steps did run again after the
 * kills (counted from the "reaction step re-run" log lines), and at least one re-run per kill
 * found its message in the channel instead of posting it again.
 */
const N = 2000;
const CHANNELS = 200;
const KILLS = 2;
const hmacSecret = 'exactly-once-hmac-secret-0123456789';

let setup: SlackReplicas | undefined;
let releaseAnswers: (() => void) | undefined;
afterEach(async () => {
  releaseAnswers?.();
  await setup?.cleanup();
  setup = undefined;
});

const channelOf = (n: number) => `C0EO${String(n % CHANNELS).padStart(4, '0')}`;

describe.each(await replicaBackends())('on %s', (backend) => {
  test(`${N} deliveries over two replicas on Slack, each replica killed (SIGKILL) between a post and its checkpoint: every message exactly once`, async () => {
    const s = (setup = await slackReplicas({
      backend,
      env: { SAY_SECRET: hmacSecret, DECKHAND_HEARTBEAT: '3s', DECKHAND_JOB_LEASE: '5s', LOG_LEVEL: 'warn' },
      reactions: {
        say: `on:
  webhook: say
  auth: { hmac: { secret: "\${secret.SAY_SECRET}", header: X-Signature, prefix: "sha256=" } }
concurrency: 8
do:
  - chat: { channel: "{{ payload.channel }}", text: "effect {{ payload.n }}" }
`,
      },
    }));
    const start = (name: string) => s.start('http', name, { SLACK_API_URL: s.slack.apiUrlFor(name) });
    const [a, b] = [await start('a'), await start('b')];
    const processes: BotProcess[] = [a, b];
    const names = ['a', 'b'];
    // Where requests go: [A, B]; a slot is empty while its replica is dead, then its restarted self.
    const live: Array<BotProcess | null> = [a, b];

    const send = async (n: number): Promise<number> => {
      const body = JSON.stringify({ n, channel: channelOf(n) });
      const signature = `sha256=${createHmac('sha256', hmacSecret).update(body).digest('hex')}`;
      for (let attempt = 0; attempt < 400; attempt++) {
        const target = live[(n + attempt) % 2];
        if (!target) continue;
        try {
          const response = await fetch(`http://127.0.0.1:${target.port}/triggers/say`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-signature': signature, 'x-delivery-id': `eo-${n}` },
            body,
          });
          if (response.status === 202 || response.status === 200) return response.status;
          throw new Error(`delivery ${n}: ${response.status} ${await response.text()}`);
        } catch (err) {
          if (err instanceof Error && err.message.startsWith('delivery ')) throw err;
          await new Promise((r) => setTimeout(r, 20)); // refused or cut: the other replica next
        }
      }
      throw new Error(`delivery ${n} was never answered`);
    };

    let next = 1;
    const statuses: number[] = [];
    const sender = async () => {
      while (next <= N) {
        const n = next++;
        statuses.push(await send(n));
      }
    };
    const sending = Promise.all(Array.from({ length: 8 }, sender));

    const posts = () => s.slack.callsTo('chat.postMessage');
    // A third of the way in, kill A; two thirds in, B. Each at a moment when a message it posted is
    // stored in Slack and its answer is held back: the kill lands between the post and the checkpoint.
    for (const slot of [0, 1] as const) {
      await until(() => posts().filter((c) => c.done).length >= (N * (slot + 1)) / 3, `${slot + 1} third(s) of the messages to be posted`, 120_000);
      const victim = live[slot]!;
      const via = names[slot]!;
      releaseAnswers = s.slack.holdAnswers('chat.postMessage');
      await until(() => posts().some((c) => c.via === via && c.done && c.response === undefined), `a post of replica ${via} stored and not yet answered`, 30_000);
      live[slot] = null;
      victim.child.kill('SIGKILL');
      await victim.exited;
      releaseAnswers();
      releaseAnswers = undefined;
      const name = `${via}2`;
      const restarted = await start(name);
      processes.push(restarted);
      names[slot] = name;
      live[slot] = restarted;
    }
    await sending;
    expect(statuses.filter((status) => status !== 202 && status !== 200)).toEqual([]);

    const effects = () => {
      const counts = new Map<number, number>();
      for (let c = 0; c < CHANNELS; c++) {
        for (const m of s.slack.messages(channelOf(c))) {
          const n = Number(/^effect (\d+)$/.exec(m.text ?? '')?.[1]);
          if (n) counts.set(n, (counts.get(n) ?? 0) + 1);
        }
      }
      return counts;
    };
    await until(() => effects().size === N, `all ${N} messages`, 150_000);
    await until(async () => Number((await s.rows<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE state <> 'done'`))[0]?.n) === 0, 'every job to be done', 30_000);

    const counts = effects();
    const lost = Array.from({ length: N }, (_, i) => i + 1).filter((n) => !counts.has(n));
    const twice = [...counts.entries()].filter(([, c]) => c > 1).map(([n]) => n);
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    // Every message carries its step's run id, once each: exactly N run ids.
    const byRunId = s.slack.countByMetadata('deckhand_step', 'run_id');
    expect(byRunId.size).toBe(N);
    expect([...byRunId.values()].every((c) => c === 1)).toBe(true);
    expect(Number((await s.rows<{ n: number }>('SELECT count(*) AS n FROM deliveries'))[0]?.n)).toBe(N);

    // The kills cut steps short, and those ran again (the engine's log line, the same event as
    // deckhand_reaction_step_reruns_total); at least one per kill had its message in Slack already
    // and found it instead of posting it again.
    const logs = processes.map((p) => p.stderr() + p.stdout()).join('\n');
    const reruns = logs.split('reaction step re-run: an earlier attempt of its job started it and was cut short').length - 1;
    const found = logs.split('the message of a re-run reaction step is already in the channel; not posted again').length - 1;
    console.info(`${backend}: ${N} deliveries, ${posts().length} chat.postMessage calls, ${reruns} step(s) re-run after a kill, ${found} found in Slack instead of posted again`);
    expect(reruns).toBeGreaterThanOrEqual(KILLS);
    expect(found).toBeGreaterThanOrEqual(KILLS);
    expect(found).toBeLessThanOrEqual(reruns);
    for (const bot of live) bot!.child.kill('SIGTERM');
    for (const bot of live) expect(await bot!.exited).toBe(0);
  }, 360_000);
});
