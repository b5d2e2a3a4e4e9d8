/**
 * npm run bench — measures Deckhand's hot paths next to an anchor doing the same job the plain
 * way, so a number means something on any machine:
 *   routing        vs a Hubot-style list of regexes tried in order (what hubot-deploy does)
 *   event append   vs a bare better-sqlite3 INSERT on the same kind of WAL database
 *   script start   vs a bare child_process.spawn of the same bash script
 * It also reports memory (RSS / heap) after the routing runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Bench } from 'tinybench';
import { projectRoot } from '../src/app.js';
import { loadCommands } from '../src/router/load-commands.js';
import { createRouter } from '../src/router/router.js';
import { runScript } from '../src/providers/script/run-script.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const texts = ['deploy hello/feature-x to staging', 'lock production because db migration', 'deploys hello in production', 'create release hello 1.4.0 "notes"', 'depoly hello', 'whoami'];

// The anchor: hubot-deploy style, one regex per command tried in order.
const hubotStyle = [
  /^deploy(?::(\S+))?(!)?\s+([-_.0-9a-z]+)(?:\/([^\s]+))?(?:\s+(?:to|in|on)\s+([-_.0-9a-z]+))?$/i,
  /^deploys\s+([-_.0-9a-z]+)(?:\s+in\s+(\S+))?$/i,
  /^lock(!)?\s+(\S+)(?:\s+(?!because\b)(\S+))?(?:\s+because\s+(.+))?$/i,
  /^unlock\s+(\S+)(?:\s+(\S+))?$/i,
  /^locks$/i,
  /^create release\s+(\S+)\s+(\S+)(?:\s+(.+))?$/i,
  /^where can i deploy\s+(\S+)$/i,
  /^rollback\s+(\S+)(?:\s+in\s+(\S+))?$/i,
  /^whoami$/i,
  /^help(?:\s+(.+))?$/i,
];

async function main() {
  const router = createRouter(await loadCommands(path.join(projectRoot, 'dist/commands')));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-bench-'));
  const store = new SqliteStore(path.join(dir, 'store.db'));
  await store.migrate();
  const raw = new Database(path.join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, type TEXT, at TEXT, data TEXT)');
  const insert = raw.prepare('INSERT INTO events (type, at, data) VALUES (?, ?, ?)');
  const payload = { deployment: { id: 1, app: 'hello', environment: 'staging', ref: 'main', state: 'running' } };
  const script = path.join(dir, 'noop.sh');
  writeFileSync(script, 'echo ok\n');

  const fast = new Bench({ time: 1000, warmupTime: 200 });
  fast
    .add('route 6 messages — Deckhand router', () => {
      for (const t of texts) router.route(t);
    })
    .add('route 6 messages — anchor: Hubot-style regex list', () => {
      for (const t of texts) hubotStyle.find((re) => re.test(t));
    })
    .add('append event — Deckhand store (async API, WAL)', async () => {
      await store.appendEvent({ type: 'deployment.started', at: new Date().toISOString(), data: payload });
    })
    .add('append event — anchor: bare better-sqlite3 INSERT (WAL)', () => {
      insert.run('deployment.started', new Date().toISOString(), JSON.stringify(payload));
    });
  await fast.run();

  const memory = process.memoryUsage();

  const slow = new Bench({ time: 2000, warmupTime: 200, iterations: 20 });
  slow
    .add('run a bash script — Deckhand runScript (group, env, redaction)', async () => {
      await runScript({ script, cwd: dir, timeoutMs: 10_000 });
    })
    .add('run a bash script — anchor: bare child_process.spawn', () => new Promise<void>((resolve) => spawn('bash', [script]).on('exit', () => resolve())));
  await slow.run();

  const rows = [...fast.tasks, ...slow.tasks].map((task) => {
    const r = task.result as { throughput?: { mean: number }; latency?: { mean: number; p99?: number } } | undefined;
    return {
      task: task.name,
      'ops/s': r?.throughput ? Math.round(r.throughput.mean).toLocaleString('en') : 'n/a',
      'mean (µs)': r?.latency ? (r.latency.mean * 1000).toFixed(1) : 'n/a',
      'p99 (µs)': r?.latency?.p99 !== undefined ? (r.latency.p99 * 1000).toFixed(1) : 'n/a',
    };
  });
  console.table(rows);
  console.log(`memory after routing and store runs: rss ${(memory.rss / 2 ** 20).toFixed(1)} MiB, heap used ${(memory.heapUsed / 2 ** 20).toFixed(1)} MiB`);
  console.log(`node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? 'unknown'})`);
  await store.close();
  raw.close();
}

await main();
