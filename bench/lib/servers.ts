/**
 * The servers under test, each its own child process on 127.0.0.1: spawned, timed from spawn to
 * the first 200 on GET /readyz, read for resident memory (/proc), and stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServerSpec {
  name: string;
  /** Arguments to `node` (a script and its arguments, maybe preceded by node flags). */
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr of the child go here (not through a pipe that could fill up). */
  logFile: string;
}

export interface RunningServer {
  name: string;
  pid: number;
  port: number;
  url: string;
  /** Milliseconds from spawn to the first 200 on GET /readyz. */
  startMs: number;
  /** Resident set now, and the high-water mark, in bytes (Linux /proc). */
  memory(): { rss: number; peak: number };
  stop(): Promise<void>;
  /** At once, for an interrupted bench. */
  kill(): void;
}

/** A port free right now on 127.0.0.1 (the child binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function procMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU seconds (user + system) a process has used so far (Linux /proc, 100 ticks a second). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Waits until every one of the processes uses less than `threshold` of a core over a `windowMs`
 * window (a server still working off what the last load left it — queued jobs — would otherwise
 * take CPU from the next side measured). Resolves with the milliseconds waited; gives up after
 * `maxMs`.
 */
export async function waitQuiet(pids: number[], options: { threshold?: number; windowMs?: number; maxMs?: number } = {}): Promise<{ waitedMs: number; quiet: boolean }> {
  const threshold = options.threshold ?? 0.15;
  const windowMs = options.windowMs ?? 400;
  const started = performance.now();
  for (;;) {
    const before = pids.map(cpuSeconds);
    const t0 = performance.now();
    await sleep(windowMs);
    const elapsed = (performance.now() - t0) / 1000;
    const busiest = Math.max(0, ...pids.map((pid, i) => (cpuSeconds(pid) - (before[i] as number)) / elapsed));
    if (busiest < threshold) return { waitedMs: performance.now() - started - windowMs, quiet: true };
    if (performance.now() - started > (options.maxMs ?? 30_000)) return { waitedMs: performance.now() - started, quiet: false };
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Spawns the server and resolves once GET /readyz answers 200 (polled every 5 ms). */
export async function startServer(spec: ServerSpec, options: { port?: number; timeoutMs?: number } = {}): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const log = openSync(spec.logFile, 'a');
  const started = performance.now();
  const child = spawn(process.execPath, spec.args, { cwd: spec.cwd, env: { ...spec.env, PORT: String(port) }, stdio: ['ignore', log, log] });
  closeSync(log);
  let exitedEarly: string | null = null;
  child.once('exit', (code, signal) => (exitedEarly = `exited with ${signal ?? code} (log: ${spec.logFile})`));
  const deadline = started + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (exitedEarly) throw new Error(`${spec.name} ${exitedEarly}`);
    if ((await getStatus(`${url}/readyz`)) === 200) break;
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${spec.name} did not answer GET /readyz within ${options.timeoutMs ?? 30_000} ms (log: ${spec.logFile})`);
    }
    await sleep(5);
  }
  const startMs = performance.now() - started;
  const pid = child.pid as number;
  return {
    name: spec.name,
    pid,
    port,
    url,
    startMs,
    memory: () => procMemory(pid),
    kill: () => void child.kill('SIGKILL'),
    async stop() {
      child.removeAllListeners('exit');
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited(child).then(() => true), sleep(15_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited(child);
      }
    },
  };
}

export interface StartResult {
  startMs: number[];
  medianMs: number;
  idleRss: number;
}

/**
 * Start time and idle memory of several servers, taking turns as the loads do (A B, B A, ...):
 * one start each to warm the file cache (not counted), then `runs` starts each; the median start
 * time, and the resident set of each one's last start after `idleMs` of doing nothing.
 */
export async function measureStarts(specs: ServerSpec[], runs: number, idleMs: number): Promise<StartResult[]> {
  for (const spec of specs) await (await startServer(spec)).stop();
  const times: number[][] = specs.map(() => []);
  const rss: number[] = specs.map(() => 0);
  for (let run = 0; run < runs; run++) {
    const order = specs.map((_, i) => i);
    if (run % 2 === 1) order.reverse();
    for (const i of order) {
      const server = await startServer(specs[i] as ServerSpec);
      times[i]?.push(server.startMs);
      if (run === runs - 1) {
        await sleep(idleMs);
        rss[i] = server.memory().rss;
      }
      await server.stop();
    }
  }
  return times.map((t, i) => {
    const sorted = [...t].sort((a, b) => a - b);
    return { startMs: t, medianMs: sorted[Math.floor(sorted.length / 2)] as number, idleRss: rss[i] as number };
  });
}
