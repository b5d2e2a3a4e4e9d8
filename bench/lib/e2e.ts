/**
 * End to end (issue 12): from a request sent to the built bot to the chat call it causes, as the
 * fake Slack (../e2e-slack.ts, a process of its own) sees that call arrive. Send times and arrival
 * times are both `performance.timeOrigin + performance.now()` (wall-clock ms with a fraction), taken
 * in two processes on one machine.
 *
 *  1. Throughput: a batch of POST /triggers/e2e (API key; 1,000 per second of --duration) at full
 *     speed — autocannon, as the other loads — into a reaction whose one step is `chat:` to the
 *     channel the payload names. Completed actions per second are the batch's chat.postMessage calls
 *     that arrived, over the time from its first request to its last message (the jobs the load
 *     left are drained), next to the ingest req/s of the same run. The events go round
 *     robin over 10,000 channels, so Deckhand's pacing (one message a second per channel) never
 *     waits: the figure is the pipeline's, not the pacing's (which caps one channel at 1/s).
 *  2. Latency at 200 events/s over 200 channels (round robin: each channel gets one a second, the
 *     rate Deckhand paces a channel to): requests evenly spaced, open loop (a late answer does not
 *     delay the next request), webhook → chat.postMessage p50/p99 and the events lost. The same rate
 *     over 400 channels (each channel every 2 s, so pacing never holds a message) shows what share
 *     of the figure pacing is; and the same 200/s from autocannon's `overallRate`, which sends each
 *     connection's quota for a second as fast as it is answered and then waits for the next second
 *     (bursts of 200), shows what a bursty sender sees.
 *  3. A chat command: signed `app_mention` events ("@deckhand whoami") at 20/s over 40 channels
 *     into Deckhand (HTTP mode) and into bare Bolt (an `app_mention` listener answering with say()),
 *     from the request sent to the reply's chat.postMessage arriving; the two take turns (A B B A).
 *
 * With --keep, every event of every run is in <work>/e2e/*.csv (sent, arrived, latency).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { appMentionPayload } from '../../test/fakes/slack/signed-request.js';
import type { Arrival, E2eSlackRequest } from '../e2e-slack.js';
import type { OneRequest } from './load.js';
import { secrets, triggerBody } from './payloads.js';
import { ms, ratio, type Row } from './report.js';
import { cpuSeconds, waitQuiet, type RunningServer, type ServerSpec } from './servers.js';

export interface E2eOptions {
  /** Seconds measured per run (the autocannon run of part 2 gets half; part 1 sends 1,000 deliveries per second of it, part 3 takes turns of half). */
  duration: number;
  /** Seconds of warm-up, not counted. */
  warmup: number;
  /** Connections of the full-speed load (part 1) and of the autocannon run of part 2. */
  connections: number;
  /** Rate and channels of part 2 (defaults 200 and 200), and rate and channels of part 3 (20 over 40). */
  rate?: number;
  channels?: number;
  commandRate?: number;
  commandChannels?: number;
  /** Events that must arrive before part 1 counts as drained is waited for at most this long (ms, default 60,000). */
  drainMaxMs?: number;
}

export interface E2eContext {
  /** A directory of its own for the reaction and the fake Slack's log. */
  dir: string;
  /** The built e2e-slack.js (dist/bench/e2e-slack.js). */
  slackScript: string;
  say: (line: string) => void;
  /** The built bot as the bench starts it, with these variables on top of its environment. */
  deckhand: (name: string, env: Record<string, string>) => ServerSpec;
  /** An anchor script, likewise. */
  anchor: (name: string, script: string, env: Record<string, string>) => ServerSpec;
  /** Starts a server (and has the bench stop it if interrupted); stops them. */
  start: (spec: ServerSpec) => Promise<RunningServer>;
  stop: (servers: RunningServer[]) => Promise<void>;
  options: E2eOptions;
}

export interface E2eResult {
  rows: Row[];
  notes: string[];
  /** The bot's log, for the bench's summary of warnings and errors. */
  deckhandLog: string;
}

export const e2eTrigger = 'e2e';
const now = () => performance.timeOrigin + performance.now();

// ---- the fake Slack, over IPC ---------------------------------------------------------------------

type Reply = { id: number; count?: number; arrivals?: Arrival[] };
type Ready = { ready: true; apiUrl: string; botToken: string; botUserId: string };
type Request = E2eSlackRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

class E2eSlack {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (err: Error) => void }>();
  private exited: Error | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly info: Ready,
  ) {
    child.on('message', (raw) => {
      const reply = raw as Reply;
      this.waiting.get(reply.id)?.resolve(reply);
      this.waiting.delete(reply.id);
    });
    child.once('exit', (code, signal) => {
      this.exited = new Error(`the e2e fake Slack exited (${signal ?? code})`);
      for (const w of this.waiting.values()) w.reject(this.exited);
      this.waiting.clear();
    });
  }

  static async start(script: string, logFile: string): Promise<E2eSlack> {
    const log = openSync(logFile, 'a');
    const child = fork(script, [], { stdio: ['ignore', log, log, 'ipc'], execArgv: [] });
    closeSync(log);
    const info = await new Promise<Ready>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Ready));
      child.once('exit', (code) => reject(new Error(`the e2e fake Slack exited with ${code} (log: ${logFile})`)));
    });
    return new E2eSlack(child, info);
  }

  call(request: Request): Promise<Reply> {
    if (this.exited) return Promise.reject(this.exited);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ ...request, id });
    });
  }

  async addChannels(ids: string[]): Promise<void> {
    await this.call({ op: 'channels', ids });
  }

  async count(): Promise<number> {
    return (await this.call({ op: 'count' })).count ?? 0;
  }

  async take(): Promise<Arrival[]> {
    return (await this.call({ op: 'take' })).arrivals ?? [];
  }

  get pid(): number {
    return this.child.pid as number;
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

// ---- what is sent ---------------------------------------------------------------------------------

/** Channel ids as Slack writes them (C + upper-case letters and digits), `count` of them per set. */
export function channelIds(set: string, count: number): string[] {
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, i) => `CE2E${set}${String(i).padStart(width, '0')}`);
}

/** The reaction every trigger request runs: one chat message, to the channel the payload names. */
export function writeE2eReaction(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'bench-e2e.yaml'),
    [
      '# The bench\'s end-to-end reaction: POST /triggers/e2e posts one message to the channel the',
      '# payload names (so the load spreads over channels), its text naming the event.',
      'name: bench-e2e',
      'on:',
      `  webhook: ${e2eTrigger}`,
      '  auth: { api_key: "${secret.BENCH_TRIGGER_KEY}" }',
      'do:',
      '  - chat: { channel: "{{ payload.channel }}", text: "e2e {{ payload.seq }}" }',
      '',
    ].join('\n'),
  );
}

/** The 1 KB trigger body of the `trigger` row, with the event's number and channel. */
function triggerRequest(run: string, seq: number, channel: string, filler: Record<string, unknown>): OneRequest {
  return {
    path: `/triggers/${e2eTrigger}`,
    headers: { 'content-type': 'application/json', 'x-api-key': secrets.triggerKey, 'x-delivery-id': `${run}-${seq}` },
    body: JSON.stringify({ ...filler, seq, channel }),
  };
}

/** A signed app_mention, "@bot whoami", from a user of its own (so the reply names the event). */
function mentionRequest(botUserId: string, seq: number, channel: string): OneRequest {
  const envelope = appMentionPayload({ channel, user: userOf(seq), text: `<@${botUserId}> whoami`, botUserId });
  const body = JSON.stringify(envelope);
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', secrets.slackSigning).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { path: '/slack/events', headers: { 'content-type': 'application/json', 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) }, body };
}

const userOf = (seq: number) => `U0E2E${String(seq).padStart(6, '0')}`;
/** The event a reaction's message is for ("e2e 123"), or a reply is to (it names the user). */
const seqOfReaction = (a: Arrival) => Number(/^e2e (\d+)$/.exec(a.text)?.[1] ?? NaN);
const seqOfReply = (a: Arrival) => Number(/U0E2E(\d{6})/.exec(a.text)?.[1] ?? NaN);

// ---- matching arrivals to what was sent ---------------------------------------------------------

export interface Sent {
  sentAt: number;
  channel: string;
  /** HTTP status of the answer (0: a connection error or timeout); undefined while none came (autocannon stops without waiting for the requests in flight: those are left out). */
  status?: number;
}

export interface Outcome {
  /** Requests sent, and answered 2xx. */
  sent: number;
  ok: number;
  /** Answers other than 2xx, by status ("no answer" for connection errors and timeouts). */
  failed: Record<string, number>;
  /** Request sent → chat call arrived, ms, sorted, one per accepted event that arrived. */
  latencies: number[];
  /** Accepted (2xx) events whose chat call never arrived. */
  lost: number;
  /** Chat calls beyond the first for one event; and ones that named no event sent, or the wrong channel. */
  duplicates: number;
  stray: number;
  /** When the last matched call arrived. */
  lastAt: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Pairs each arrival with the event it names; events sent before `from` (warm-up) are left out. */
export function matchArrivals(sent: Map<number, Sent>, arrivals: Arrival[], seqOf: (a: Arrival) => number, from = 0): Outcome {
  const seen = new Set<number>();
  const latencies: number[] = [];
  let duplicates = 0;
  let stray = 0;
  let lastAt = 0;
  for (const arrival of arrivals) {
    const seq = seqOf(arrival);
    const event = sent.get(seq);
    if (!event || event.channel !== arrival.channel) {
      stray++;
      continue;
    }
    if (seen.has(seq)) {
      duplicates++;
      continue;
    }
    seen.add(seq);
    if (seq < from || event.status === undefined) continue;
    latencies.push(arrival.at - event.sentAt);
    lastAt = Math.max(lastAt, arrival.at);
  }
  const failed: Record<string, number> = {};
  let count = 0;
  let ok = 0;
  let lost = 0;
  for (const [seq, event] of sent) {
    // Warm-up, or still in flight when autocannon stopped (it does not wait for those answers).
    if (seq < from || event.status === undefined) continue;
    count++;
    const status = event.status;
    if (status >= 200 && status < 300) {
      ok++;
      if (!seen.has(seq)) lost++;
    } else {
      const key = status === 0 ? 'no answer' : String(status);
      failed[key] = (failed[key] ?? 0) + 1;
    }
  }
  return { sent: count, ok, failed, latencies: latencies.sort((a, b) => a - b), lost, duplicates, stray, lastAt };
}

const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')}`;
const p50p99 = (o: Outcome) => `${ms(percentile(o.latencies, 50))} / ${ms(percentile(o.latencies, 99))} ms`;

/** "0 lost", or what went wrong. */
export function losses(o: Outcome): string {
  const parts = Object.entries(o.failed).map(([status, n]) => `${n} × ${status}`);
  parts.push(`${o.lost} lost`);
  if (o.duplicates) parts.push(`${o.duplicates} duplicates`);
  if (o.stray) parts.push(`${o.stray} stray`);
  return parts.join(', ');
}

// ---- senders ------------------------------------------------------------------------------------

/**
 * Sends `rate` requests a second for `seconds`, evenly spaced and open loop: each goes at its time
 * whatever happened to the earlier ones (keep-alive connections, as many as are in flight). The
 * send time is taken right before the request is handed to node:http.
 */
async function paced(url: string, rate: number, seconds: number, firstSeq: number, make: (seq: number) => { request: OneRequest; channel: string }, sent: Map<number, Sent>): Promise<void> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * seconds);
  const start = performance.now() + 10;
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const seq = firstSeq + i;
    const { request, channel } = make(seq);
    const event: Sent = { sentAt: 0, channel };
    sent.set(seq, event);
    inFlight.push(
      new Promise<void>((resolve) => {
        const req = http.request(
          { agent, host: target.hostname, port: target.port, method: 'POST', path: request.path, headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) }, timeout: 10_000 },
          (res) => {
            event.status = res.statusCode ?? 0;
            res.resume();
            res.once('end', resolve);
            res.once('error', resolve);
          },
        );
        req.once('timeout', () => req.destroy(new Error('timeout')));
        req.once('error', () => {
          event.status ??= 0;
          resolve();
        });
        event.sentAt = now();
        req.end(request.body);
      }),
    );
  }
  await Promise.all(inFlight);
  agent.destroy();
}

/**
 * autocannon against the trigger: at full speed, or with `overallRate`. Each request is made in
 * setupRequest, which autocannon calls right before it writes the request: that is its send time.
 * The answer (`{"delivery": "<run>-<seq>"}`) says which request it was.
 */
async function cannon(url: string, options: { connections: number; seconds?: number; amount?: number; overallRate?: number }, run: string, nextSeq: () => number, channelOf: (seq: number) => string, filler: Record<string, unknown>, sent: Map<number, Sent>): Promise<{ ok: number; seconds: number; httpLatencies: number[] }> {
  const httpLatencies: number[] = [];
  const delivery = new RegExp(`"delivery":"${run}-(\\d+)"`);
  const instance = autocannon(
    {
      url,
      connections: options.connections,
      pipelining: 1,
      ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
      timeout: 10,
      ...(options.overallRate ? { overallRate: options.overallRate } : {}),
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            const seq = nextSeq();
            const channel = channelOf(seq);
            const r = triggerRequest(run, seq, channel, filler);
            sent.set(seq, { sentAt: now(), channel });
            return { ...request, method: 'POST', path: r.path, headers: r.headers, body: r.body };
          },
          onResponse: (status, body) => {
            const seq = Number(delivery.exec(body)?.[1] ?? NaN);
            const event = sent.get(seq);
            if (event) event.status = status;
          },
        },
      ],
    },
    () => {},
  );
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    if (status >= 200 && status < 300) httpLatencies.push(responseTime);
  });
  const result = await new Promise<autocannon.Result>((resolve) => instance.once('done', resolve));
  return { ok: result['2xx'], seconds: result.duration, httpLatencies: httpLatencies.sort((a, b) => a - b) };
}

/** Waits until `expected` chat calls have arrived, or none arrived for 5 s, or `maxMs` passed. */
async function drain(slack: E2eSlack, expected: number, maxMs: number): Promise<{ arrived: number; complete: boolean }> {
  const started = performance.now();
  let last = -1;
  let lastChange = started;
  for (;;) {
    const arrived = await slack.count();
    if (arrived >= expected) return { arrived, complete: true };
    if (arrived !== last) {
      last = arrived;
      lastChange = performance.now();
    }
    if (performance.now() - lastChange > 5000 || performance.now() - started > maxMs) return { arrived, complete: false };
    await sleep(100);
  }
}

/** Every event of a run, one line each (kept with --keep): when it was sent and when its chat call arrived, ms from the first send. */
function writeEvents(file: string, sent: Map<number, Sent>, arrivals: Arrival[], seqOf: (a: Arrival) => number): void {
  const arrived = new Map<number, number>();
  for (const a of arrivals) if (!arrived.has(seqOf(a))) arrived.set(seqOf(a), a.at);
  const t0 = [...sent.values()].reduce((min, e) => Math.min(min, e.sentAt), Infinity);
  const lines = ['seq,channel,status,sent_ms,arrived_ms,latency_ms'];
  for (const [seq, e] of sent) {
    const at = arrived.get(seq);
    lines.push([seq, e.channel, e.status ?? '', (e.sentAt - t0).toFixed(3), at === undefined ? '' : (at - t0).toFixed(3), at === undefined ? '' : (at - e.sentAt).toFixed(3)].join(','));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** The median latency of the events sent in each second of a run (events before `from` left out). */
export function medianBySecond(sent: Map<number, Sent>, arrivals: Arrival[], seqOf: (a: Arrival) => number, from: number): number[] {
  const arrived = new Map<number, number>();
  for (const a of arrivals) if (!arrived.has(seqOf(a))) arrived.set(seqOf(a), a.at);
  const measured = [...sent].filter(([seq]) => seq >= from);
  const t0 = measured.reduce((min, [, e]) => Math.min(min, e.sentAt), Infinity);
  const seconds: number[][] = [];
  for (const [seq, e] of measured) {
    const at = arrived.get(seq);
    if (at === undefined) continue;
    (seconds[Math.floor((e.sentAt - t0) / 1000)] ??= []).push(at - e.sentAt);
  }
  return seconds.map((l) => percentile(l.sort((a, b) => a - b), 50));
}

/** Per channel, the gaps between consecutive messages (ms, sorted): pacing shows as gaps near 1,000. */
export function channelGaps(arrivals: Arrival[]): number[] {
  const last = new Map<string, number>();
  const gaps: number[] = [];
  for (const a of [...arrivals].sort((x, y) => x.at - y.at)) {
    const before = last.get(a.channel);
    if (before !== undefined) gaps.push(a.at - before);
    last.set(a.channel, a.at);
  }
  return gaps.sort((a, b) => a - b);
}

// ---- the section --------------------------------------------------------------------------------

export async function runE2e(ctx: E2eContext): Promise<E2eResult> {
  const { say, options } = ctx;
  const rate = options.rate ?? 200;
  const channelCount = options.channels ?? 200;
  const commandRate = options.commandRate ?? 20;
  const commandChannelCount = options.commandChannels ?? 40;
  const seconds = options.duration;
  const warmup = Math.min(options.warmup, 2);
  const rows: Row[] = [];
  const notes: string[] = [];
  mkdirSync(ctx.dir, { recursive: true });
  const reactions = path.join(ctx.dir, 'reactions');
  writeE2eReaction(reactions);

  const slack = await E2eSlack.start(ctx.slackScript, path.join(ctx.dir, 'e2e-slack.log'));
  const servers: RunningServer[] = [];
  try {
    const sets = {
      throughput: channelIds('T', 10_000),
      steady: channelIds('A', channelCount),
      wide: channelIds('B', channelCount * 2),
      bursty: channelIds('C', channelCount),
      commands: channelIds('M', commandChannelCount),
    };
    await slack.addChannels(Object.values(sets).flat());
    const slackEnv = { SLACK_API_URL: slack.info.apiUrl, SLACK_BOT_TOKEN: slack.info.botToken };
    const deckhandSpec = ctx.deckhand('e2e', { ...slackEnv, DECKHAND_REACTIONS: reactions });
    const bot = await ctx.start(deckhandSpec);
    servers.push(bot);
    const bolt = await ctx.start(ctx.anchor('bare Bolt (e2e)', 'bare-bolt', slackEnv));
    servers.push(bolt);
    const quiet = () => waitQuiet([bot.pid, bolt.pid, slack.pid]);
    const filler = JSON.parse(triggerBody()) as Record<string, unknown>;
    const run = randomUUID().slice(0, 8);
    let seq = 0;

    /** One paced run of the trigger (warm-up first, same schedule), matched against the chat calls. */
    const steadyRun = async (label: string, channels: string[], measured: number): Promise<{ outcome: Outcome; arrivals: Arrival[]; bySecond: number[] }> => {
      await quiet();
      await slack.take();
      const sent = new Map<number, Sent>();
      const first = seq + 1;
      const from = first + Math.round(rate * warmup);
      say(`e2e: ${label}: ${rate} events/s over ${channels.length} channels, ${warmup} s warm-up + ${measured} s ...`);
      await paced(bot.url, rate, warmup + measured, first, (n) => {
        const channel = channels[(n - first) % channels.length] as string;
        return { request: triggerRequest(run, n, channel, filler), channel };
      }, sent);
      seq = first + sent.size - 1;
      const accepted = [...sent.values()].filter((s) => s.status !== undefined && s.status >= 200 && s.status < 300).length;
      await drain(slack, accepted, 15_000);
      const arrivals = await slack.take();
      writeEvents(path.join(ctx.dir, `steady-${channels.length}-channels.csv`), sent, arrivals, seqOfReaction);
      const outcome = matchArrivals(sent, arrivals, seqOfReaction, from);
      say(`e2e: ${label}: p50/p99 ${p50p99(outcome)} (max ${ms(outcome.latencies.at(-1) ?? NaN)} ms), ${losses(outcome)}`);
      const bySecond = medianBySecond(sent, arrivals, seqOfReaction, from);
      say(`e2e: ${label}: median by second sent: ${bySecond.map((x) => ms(x)).join(', ')} ms`);
      return { outcome, arrivals: arrivals.filter((a) => seqOfReaction(a) >= from), bySecond };
    };

    // ---- 2. latency at 200 events/s ----
    const steady = await steadyRun(`webhook → chat, ${channelCount} channels`, sets.steady, seconds);
    const half = Math.max(2, Math.round(seconds / 2));
    const wide = await steadyRun(`webhook → chat, ${channelCount * 2} channels`, sets.wide, seconds);
    // The same rate from autocannon's overallRate (bursts at the top of each second).
    await quiet();
    await slack.take();
    say(`e2e: webhook → chat, autocannon overallRate ${rate}, ${channelCount} channels, ${half} s ...`);
    const burstSent = new Map<number, Sent>();
    const burstFirst = seq + 1;
    await cannon(bot.url, { connections: options.connections, seconds: half, overallRate: rate }, run, () => ++seq, (n) => sets.bursty[(n - burstFirst) % sets.bursty.length] as string, filler, burstSent);
    await drain(slack, [...burstSent.values()].filter((s) => (s.status ?? 0) >= 200 && (s.status ?? 0) < 300).length, 15_000);
    const burstArrivals = await slack.take();
    writeEvents(path.join(ctx.dir, 'overall-rate.csv'), burstSent, burstArrivals, seqOfReaction);
    const bursty = matchArrivals(burstSent, burstArrivals, seqOfReaction);
    say(`e2e: autocannon overallRate: p50/p99 ${p50p99(bursty)}, ${losses(bursty)}`);

    const gaps = channelGaps(steady.arrivals);
    const paced1s = gaps.filter((g) => g >= 990 && g <= 1010).length;
    rows.push({
      what: `webhook → reaction → \`chat.postMessage\` arrived, ${rate} events/s evenly spaced over ${channelCount} channels (each fed at Slack's pace, 1 msg/s)`,
      deckhand: `${steady.outcome.ok.toLocaleString('en')} events`,
      deckhandLatency: p50p99(steady.outcome),
      deckhandErrors: losses(steady.outcome),
      anchor: `Deckhand, same rate over ${channelCount * 2} channels (pacing never waits)`,
      anchorValue: `${wide.outcome.ok.toLocaleString('en')} events`,
      anchorLatency: p50p99(wide.outcome),
      anchorErrors: losses(wide.outcome),
      ratio: `${ratio(percentile(steady.outcome.latencies, 99), percentile(wide.outcome.latencies, 99))} (p99)`,
    });
    rows.push({
      what: `the same, ${rate} events/s from autocannon \`overallRate\` (each second's requests sent at once) over ${channelCount} channels`,
      deckhand: `${bursty.ok.toLocaleString('en')} events`,
      deckhandLatency: p50p99(bursty),
      deckhandErrors: losses(bursty),
      anchor: 'Deckhand, evenly spaced (above)',
      anchorValue: `${steady.outcome.ok.toLocaleString('en')} events`,
      anchorLatency: p50p99(steady.outcome),
      anchorErrors: losses(steady.outcome),
      ratio: `${ratio(percentile(bursty.latencies, 99), percentile(steady.outcome.latencies, 99))} (p99)`,
    });
    const steadyP99 = percentile(steady.outcome.latencies, 99);
    const wideP99 = percentile(wide.outcome.latencies, 99);
    const target = steadyP99 < 20 ? 'meets' : 'misses';
    // What pacing adds is the difference of the two runs, when the other run shows it; a stall of
    // the machine during the run without pacing (its per-second medians show it) hides it.
    const pacingShare =
      wideP99 < steadyP99
        ? `p50 / p99 ${p50p99(wide.outcome)}, so pacing accounts for about ${Math.round((100 * (steadyP99 - wideP99)) / steadyP99)}% of the p99 over ${channelCount} channels (${ms(steadyP99 - wideP99)} of ${ms(steadyP99)} ms).`
        : `p50 / p99 ${p50p99(wide.outcome)} — slower than with pacing, so in this run something else (the machine: medians by second ${wide.bySecond.map((x) => ms(x)).join(', ')} ms) outweighed pacing, and the share of pacing cannot be read off it; run again.`;
    notes.push(
      `End to end, latency: from the request handed to node:http (open loop: every request at its time, ${rate}/s evenly spaced, ${warmup} s of warm-up on the same schedule not counted) to the fake Slack having read the \`chat.postMessage\` the reaction made (its own process; timestamps \`performance.timeOrigin + performance.now()\` in both). p99 ${ms(steadyP99)} ms ${target} issue 12's 20 ms. Pacing: over ${channelCount} channels each channel gets one event a second, exactly the sustained pace Deckhand keeps a channel to (one message a second, with bursts of 3 allowed: GCRA, decision 013). The burst absorbs up to 2 s of lateness, so a message held back once (a slow job, a GC pause, a busy core) does not push every later one in its channel; with a strict one-a-second slot (before) each message waited for the worst delay its channel had seen, and p99 grew with the run. Medians of the events sent in each second: ${steady.bySecond.map((x) => ms(x)).join(', ')} ms. A message waiting for its slot holds one of the reaction's run slots (\`concurrency\`, 4 by default: its chat step ends when the message is sent) and one of the job worker's 8. Over ${channelCount * 2} channels (each every 2 s) no message waits for pacing: ${pacingShare} Gaps between consecutive messages in one channel (${channelCount} channels): median ${ms(percentile(gaps, 50))} ms, min ${ms(gaps[0] ?? NaN)} ms, ${paced1s.toLocaleString('en')} of ${gaps.length.toLocaleString('en')} within 1,000 ± 10 ms. autocannon's \`overallRate\` is not even spacing: each connection sends its share of a second's requests back to back at the top of the second, then waits, so all ${rate} arrive within tens of ms and queue behind each other (the reaction runs at most 4 at once, the worker 8 jobs).`,
    );

    // ---- 1. throughput: a batch at full speed, until the last of its messages arrived ----
    await quiet();
    await slack.take();
    const throughputChannel = (n: number) => sets.throughput[n % sets.throughput.length] as string;
    const batch = Math.max(1000, 1000 * seconds);
    if (options.warmup > 0) {
      say(`e2e: throughput warm-up, ${Math.round(batch / 4).toLocaleString('en')} events ...`);
      const warmed = await cannon(bot.url, { connections: options.connections, amount: Math.round(batch / 4) }, run, () => ++seq, throughputChannel, filler, new Map());
      await drain(slack, warmed.ok, options.drainMaxMs ?? 60_000);
      await quiet();
      await slack.take();
    }
    say(`e2e: throughput: ${batch.toLocaleString('en')} events at full speed, ${options.connections} connections ...`);
    const fullSent = new Map<number, Sent>();
    const cpuBefore = cpuSeconds(bot.pid);
    const loadStart = now();
    const full = await cannon(bot.url, { connections: options.connections, amount: batch }, run, () => ++seq, throughputChannel, filler, fullSent);
    const loadEnd = now();
    const drained = await drain(slack, full.ok, options.drainMaxMs ?? 60_000);
    const fullArrivals = await slack.take();
    const cpu = cpuSeconds(bot.pid) - cpuBefore;
    writeEvents(path.join(ctx.dir, 'full-speed.csv'), fullSent, fullArrivals, seqOfReaction);
    const fullOutcome = matchArrivals(fullSent, fullArrivals, seqOfReaction);
    const completed = fullOutcome.latencies.length;
    const ingestS = (loadEnd - loadStart) / 1000;
    const windowS = (fullOutcome.lastAt - loadStart) / 1000;
    const duringLoad = fullArrivals.filter((a) => a.at <= loadEnd).length;
    const ingest = full.ok / ingestS;
    const perSecond = windowS > 0 ? completed / windowS : 0;
    say(`e2e: throughput: ingest ${Math.round(ingest)} req/s (${ingestS.toFixed(1)} s), completed ${Math.round(perSecond)} actions/s (${completed} in ${windowS.toFixed(1)} s; ${duringLoad} during the ingest), ${losses(fullOutcome)}${drained.complete ? '' : ' (gave up waiting)'}`);
    rows.push({
      what: `webhook → reaction → \`chat.postMessage\` arrived: ${batch.toLocaleString('en')} deliveries at full speed, ${options.connections} connections; completed actions/s (first request to last message)`,
      deckhand: `${Math.round(perSecond).toLocaleString('en')} actions/s`,
      deckhandLatency: p50p99(fullOutcome),
      deckhandErrors: losses(fullOutcome),
      anchor: 'ingest of the same run (`POST /triggers/e2e` answered 2xx)',
      anchorValue: `${Math.round(ingest).toLocaleString('en')} req/s`,
      anchorLatency: `${ms(percentile(full.httpLatencies, 50))} / ${ms(percentile(full.httpLatencies, 99))} ms`,
      anchorErrors: Object.entries(fullOutcome.failed).map(([status, n]) => `${n} × ${status}`).join(', ') || '0',
      ratio: ratio(perSecond, ingest),
    });
    notes.push(
      `End to end, throughput: ${full.ok.toLocaleString('en')} deliveries accepted in ${ingestS.toFixed(1)} s (after ${Math.round(batch / 4).toLocaleString('en')} of warm-up, drained); ${completed.toLocaleString('en')} of their messages arrived, ${duringLoad.toLocaleString('en')} while they were still coming in and the last ${((fullOutcome.lastAt - loadEnd) / 1000).toFixed(1)} s after the last answer${drained.complete ? '' : ' (the bench gave up waiting: the rest count as lost)'}. The latency column is request → message behind that backlog. Deckhand's CPU per completed action (ingest, job, chat call, checkpoints): ${completed ? Math.round((cpu * 1e6) / completed).toLocaleString('en') : 'n/a'} µs. Round robin over ${sets.throughput.length.toLocaleString('en')} channels, so pacing (1 msg/s per channel) never waits: this is the pipeline's rate; into one channel Deckhand sends 1/s by design. The reaction has the default \`concurrency: 4\`.`,
    );

    // ---- 3. a chat command at 20/s, Deckhand vs bare Bolt, taking turns (A B B A) ----
    const commandRun = async (label: string, server: RunningServer, measured: number, warm: boolean): Promise<{ sent: Map<number, Sent>; arrivals: Arrival[] }> => {
      const send = async (runSeconds: number) => {
        await quiet();
        await slack.take();
        const sent = new Map<number, Sent>();
        const first = seq + 1;
        await paced(server.url, commandRate, runSeconds, first, (n) => {
          const channel = sets.commands[(n - first) % sets.commands.length] as string;
          return { request: mentionRequest(slack.info.botUserId, n, channel), channel };
        }, sent);
        seq = first + sent.size - 1;
        await drain(slack, [...sent.values()].filter((e) => (e.status ?? 0) >= 200 && (e.status ?? 0) < 300).length, 15_000);
        return { sent, arrivals: await slack.take() };
      };
      if (warm && warmup > 0) await send(warmup);
      say(`e2e: ${label}: "@bot whoami" ${commandRate}/s over ${sets.commands.length} channels, ${measured} s ...`);
      return send(measured);
    };
    const halfCommand = Math.max(1, Math.round(seconds / 2));
    const sides = { deckhand: { sent: new Map<number, Sent>(), arrivals: [] as Arrival[] }, bolt: { sent: new Map<number, Sent>(), arrivals: [] as Arrival[] } };
    for (const [side, server, warm] of [['deckhand', bot, true], ['bolt', bolt, true], ['bolt', bolt, false], ['deckhand', bot, false]] as const) {
      const part = await commandRun(side === 'deckhand' ? 'Deckhand' : 'bare Bolt', server, halfCommand, warm);
      for (const [n, e] of part.sent) sides[side].sent.set(n, e);
      sides[side].arrivals.push(...part.arrivals);
    }
    writeEvents(path.join(ctx.dir, 'command-deckhand.csv'), sides.deckhand.sent, sides.deckhand.arrivals, seqOfReply);
    writeEvents(path.join(ctx.dir, 'command-bare-bolt.csv'), sides.bolt.sent, sides.bolt.arrivals, seqOfReply);
    const deckhandReply = matchArrivals(sides.deckhand.sent, sides.deckhand.arrivals, seqOfReply);
    const boltReply = matchArrivals(sides.bolt.sent, sides.bolt.arrivals, seqOfReply);
    say(`e2e: chat command: Deckhand p50/p99 ${p50p99(deckhandReply)} (max ${ms(deckhandReply.latencies.at(-1) ?? NaN)} ms), ${losses(deckhandReply)}; bare Bolt ${p50p99(boltReply)} (max ${ms(boltReply.latencies.at(-1) ?? NaN)} ms), ${losses(boltReply)}`);
    rows.push({
      what: `chat command "@deckhand whoami" (signed \`app_mention\`, ${commandRate}/s over ${sets.commands.length} channels) → reply \`chat.postMessage\` arrived`,
      deckhand: `${deckhandReply.ok.toLocaleString('en')} replies`,
      deckhandLatency: p50p99(deckhandReply),
      deckhandErrors: losses(deckhandReply),
      anchor: 'bare Bolt 5 `App`, HTTP mode, an `app_mention` listener answering with `say()`',
      anchorValue: `${boltReply.ok.toLocaleString('en')} replies`,
      anchorLatency: p50p99(boltReply),
      anchorErrors: losses(boltReply),
      ratio: `${ratio(percentile(deckhandReply.latencies, 50), percentile(boltReply.latencies, 50))} / ${ratio(percentile(deckhandReply.latencies, 99), percentile(boltReply.latencies, 99))}`,
    });
    notes.push(
      `End to end, chat command: each mention from a user of its own (the reply names the user, which pairs it with its request), evenly spaced, open loop; the two sides take turns (Deckhand, Bolt, Bolt, Deckhand, ${halfCommand} s each, after ${warmup} s of warm-up each), so ${deckhandReply.latencies.length} replies a side and the p99 is the ${ordinal(deckhandReply.latencies.length - Math.ceil(0.99 * deckhandReply.latencies.length) + 1)} slowest of them: a rough figure; Deckhand records the message as seen before it answers Slack, runs the command, and queues the reply ahead of notices (paced per channel: ${sets.commands.length} channels, so each gets one every ${(sets.commands.length / commandRate).toFixed(0)} s and pacing never waits); bare Bolt acknowledges, then its listener calls \`say()\`. The ratio is p50 / p99.`,
    );
    return { rows, notes, deckhandLog: deckhandSpec.logFile };
  } finally {
    await ctx.stop(servers);
    slack.stop();
  }
}
