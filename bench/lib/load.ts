/**
 * HTTP load with autocannon (from npm, so no system package is needed), always on 127.0.0.1.
 * Each request comes from a function, so every request can carry its own delivery id and its
 * own signature.
 *
 * The sides of a comparison take turns: each is warmed up, then the measured time is cut into
 * rounds, run A B C, C B A, ... so that a burst of someone else's work on a shared machine falls
 * on every side alike rather than on one. Latencies are recorded per response (fractions of a
 * millisecond) and the percentiles computed over all rounds.
 */
import { cpuSeconds } from './servers.js';
import autocannon from 'autocannon';

export interface OneRequest {
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface LoadOptions {
  /** Concurrent connections (keep-alive, no pipelining). */
  connections: number;
  /** Seconds measured per side, over all rounds. */
  duration: number;
  /** Seconds of warm-up per side, not counted. */
  warmup: number;
  /** How many turns the measured time is cut into. */
  rounds: number;
}

export interface LoadResult {
  /** 2xx answers per second over the measured time. */
  rps: number;
  /** Latency of 2xx answers, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Answers that were not 2xx, by status. */
  non2xx: Record<string, number>;
  /** Connection errors (timeouts included) and timeouts. */
  errors: number;
  timeouts: number;
  ok: number;
  seconds: number;
  /** 2xx per second in each round, to see how steady it was. */
  perRound: number[];
  /**
   * The server's CPU time (user + system) per 2xx answer, µs, over the measured rounds and the
   * settling after each (so the jobs a delivery left are counted with it); null without a pid.
   * Unlike req/s, it hardly moves when other processes share the cores.
   */
  cpuUsPerOk: number | null;
  /** After each of its rounds, how long the servers took to go quiet (ms, mean), and whether they did. */
  settleMs: number;
  settled: boolean;
}

export interface Side {
  url: string;
  next: () => OneRequest;
  /** The server's process: its CPU time over each measured round and the settling after it is counted. */
  pid?: number;
}

interface Slice {
  result: autocannon.Result;
  latencies: number[];
}

async function slice(side: Side, connections: number, duration: number): Promise<Slice> {
  const latencies: number[] = [];
  const instance = autocannon(
    {
      url: side.url,
      connections,
      pipelining: 1,
      duration,
      timeout: 10,
      method: 'POST',
      requests: [
        {
          method: 'POST',
          // Called for every request: a fresh delivery id (and signature where the body changes).
          setupRequest: (request) => {
            const r = side.next();
            return { ...request, method: 'POST', path: r.path, headers: r.headers, body: r.body };
          },
        },
      ],
    },
    () => {},
  );
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    if (status >= 200 && status < 300) latencies.push(responseTime);
  });
  const result = await new Promise<autocannon.Result>((resolve) => instance.once('done', resolve));
  return { result, latencies };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function combine(slices: Slice[], settles: Array<{ waitedMs: number; quiet: boolean }>, cpuSeconds: number | null): LoadResult {
  const non2xx: Record<string, number> = {};
  let ok = 0;
  let seconds = 0;
  let errors = 0;
  let timeouts = 0;
  for (const { result } of slices) {
    ok += result['2xx'];
    seconds += result.duration;
    errors += result.errors;
    timeouts += result.timeouts;
    for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) {
      if (!status.startsWith('2') && stat.count) non2xx[status] = (non2xx[status] ?? 0) + stat.count;
    }
  }
  const all = Float64Array.from(slices.flatMap((s) => s.latencies)).sort();
  return {
    rps: seconds > 0 ? ok / seconds : 0,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: all.length ? (all[all.length - 1] as number) : 0,
    non2xx,
    errors,
    timeouts,
    ok,
    seconds,
    perRound: slices.map((s) => s.result['2xx'] / s.result.duration),
    cpuUsPerOk: cpuSeconds === null || ok === 0 ? null : (cpuSeconds * 1e6) / ok,
    settleMs: settles.length ? settles.reduce((a, s) => a + s.waitedMs, 0) / settles.length : 0,
    settled: settles.every((s) => s.quiet),
  };
}

export type Settle = () => Promise<{ waitedMs: number; quiet: boolean }>;

/**
 * Loads every side in turns (see above) and returns one result per side, in order. `settle`
 * runs after every slice and waits until the servers are quiet again, so that work a side
 * queued (jobs) is not done on the next side's time; what it waited is that side's `settleMs`.
 */
export async function compareLoads(sides: Side[], options: LoadOptions, settle: Settle = async () => ({ waitedMs: 0, quiet: true })): Promise<LoadResult[]> {
  for (const side of sides) {
    if (options.warmup > 0) await slice(side, options.connections, options.warmup);
    await settle();
  }
  const perSide: Slice[][] = sides.map(() => []);
  const settles: Array<Array<{ waitedMs: number; quiet: boolean }>> = sides.map(() => []);
  const cpu: Array<number | null> = sides.map((side) => (side.pid === undefined ? null : 0));
  const seconds = Math.max(1, Math.round(options.duration / options.rounds));
  for (let round = 0; round < options.rounds; round++) {
    const order = sides.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const side = sides[i] as Side;
      const before = side.pid === undefined ? 0 : cpuSeconds(side.pid);
      perSide[i]?.push(await slice(side, options.connections, seconds));
      settles[i]?.push(await settle());
      if (side.pid !== undefined) cpu[i] = (cpu[i] ?? 0) + cpuSeconds(side.pid) - before;
    }
  }
  return perSide.map((slices, i) => combine(slices, settles[i] ?? [], cpu[i] ?? null));
}
