import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { until } from '../fixtures/in-process.js';
import { startBot, type BotProcess } from './bot-process.js';

/**
 * Claim at intake when the process stops. A webhook delivery's job is inserted already claimed by
 * the accepting process when its worker has room, and waits in that process's memory while the
 * slots are busy. If the process dies (kill -9) with such jobs and running scripts, a new process
 * on the same store takes them when their leases run out; a graceful stop (SIGTERM) hands them
 * back at once. Either way every delivery's reaction runs to completion, and one whose run had not
 * started before the stop runs exactly once.
 */

const key = 'intake-kill-key-0123456789';
/** The worker's slots (JobWorker's default concurrency; not configurable). */
const SLOTS = 8;
/** Deliveries sent while every slot is busy: as many as fit are claimed at intake and wait in memory. */
const LATER = 12;

/**
 * The reaction's step: notes its pid and the delivery's `n`, holds until the gate file exists, then
 * notes `n` as done. It reads the payload from the file Deckhand passes (no input in a shell string).
 */
const script = `#!/usr/bin/env bash
set -euo pipefail
n=$(node -e 'process.stdout.write(String(require(process.env.DECKHAND_PAYLOAD_FILE).payload.n))')
echo "$$" >> "$OUT_DIR/pids"
echo "$n" >> "$OUT_DIR/starts"
while [ ! -e "$OUT_DIR/gate" ]; do sleep 0.1; done
echo "$n" >> "$OUT_DIR/done"
`;

/** Process groups of the scripts a test started (from its pids file). */
function scriptGroups(out: string): number[] {
  const file = path.join(out, 'pids');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
}

/** kill -9 of whole script process groups (a script and whatever it started), as a dying machine would. */
function killGroups(groups: number[]): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const bots: BotProcess[] = [];
const outs: string[] = [];
/** A failed test leaves no bot, and no script waiting for its gate, behind. */
afterEach(async () => {
  for (const bot of bots.splice(0)) {
    if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    await bot.exited;
  }
  // A script still holding (its bot gone) finishes by itself once the gate opens: no pid to signal.
  for (const out of outs.splice(0)) writeFileSync(path.join(out, 'gate'), '');
});

interface JobRow {
  id: number;
  type: string;
  state: string;
  attempts: number;
  lease_owner: string | null;
  lease_expires_at: string | null;
  /** The `x-delivery-id` of the delivery a `delivery` job processes; null for other jobs. */
  delivery: string | null;
}

const first = Array.from({ length: SLOTS }, (_, i) => `d-${i + 1}`);
const later = Array.from({ length: LATER }, (_, i) => `d-${SLOTS + i + 1}`);

/** A bot workspace with one webhook reaction, `burst`, whose step is the script above; `extraEnv` adds to its environment. */
function workspace(name: string, extraEnv: Record<string, string>) {
  const cwd = mkdtempSync(path.join(os.tmpdir(), `deckhand-intake-${name}-`));
  const out = path.join(cwd, 'out');
  const reactions = path.join(cwd, 'reactions');
  mkdirSync(out);
  mkdirSync(reactions);
  outs.push(out);
  const scriptPath = path.join(cwd, 'hold.sh');
  writeFileSync(scriptPath, script);
  chmodSync(scriptPath, 0o755);
  // As many runs at once as the worker has slots, so the first SLOTS deliveries' runs fill them all.
  writeFileSync(
    path.join(reactions, 'burst.yaml'),
    `on:\n  webhook: burst\n  auth: { api_key: "\${secret.BURST_KEY}" }\nconcurrency: ${SLOTS}\ndo:\n  - script: { path: ${scriptPath}, timeout: 2m, env: { OUT_DIR: "\${env.OUT_DIR}" } }\n`,
  );
  const env = { DECKHAND_REACTIONS: reactions, BURST_KEY: key, OUT_DIR: out, LOG_LEVEL: 'warn', ...extraEnv };
  const lines = (file: string) => (existsSync(path.join(out, file)) ? readFileSync(path.join(out, file), 'utf8').trim().split('\n').filter(Boolean) : []);
  return {
    start: async () => {
      const bot = await startBot({ cwd, env });
      bots.push(bot);
      await bot.waitFor('Deckhand on the terminal');
      return bot;
    },
    lines,
    groups: () => scriptGroups(out),
    count: (file: string, n: string) => lines(file).filter((l) => l === n).length,
    openGate: () => writeFileSync(path.join(out, 'gate'), ''),
    jobs: (): JobRow[] => {
      const db = new Database(path.join(cwd, 'data', 'deckhand.db'), { readonly: true });
      try {
        return db
          .prepare(
            `SELECT j.id, j.type, j.state, j.attempts, j.lease_owner, j.lease_expires_at, d.delivery_id AS delivery
             FROM jobs j LEFT JOIN deliveries d ON j.type = 'delivery' AND d.id = json_extract(j.payload, '$.deliveryId') ORDER BY j.id`,
          )
          .all() as JobRow[];
      } finally {
        db.close();
      }
    },
    send: async (port: number, n: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/triggers/burst`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-delivery-id': n },
        body: JSON.stringify({ n }),
      });
      expect([n, response.status]).toEqual([n, 202]);
    },
  };
}

type Workspace = ReturnType<typeof workspace>;

/**
 * Fills every slot with a running script (the first SLOTS deliveries), then sends LATER more: their
 * jobs are claimed by their own insert, as many as the worker's in-memory line holds, and wait; the
 * rest are left pending for any worker. Resolves the owner (the process's instance id) and the ids
 * of the jobs claimed at intake; with `renewed`, once each of their leases was renewed while waiting.
 */
async function fillAndQueue(w: Workspace, bot: BotProcess, renewed: boolean): Promise<{ owner: string; claimed: Set<number> }> {
  await Promise.all(first.map((n) => w.send(bot.port, n)));
  await until(() => w.lines('starts').length === SLOTS, `${SLOTS} scripts to start`, 20_000);
  const running = w.jobs().filter((j) => j.type === 'reaction');
  expect(running.map((j) => j.state)).toEqual(Array(SLOTS).fill('running'));
  const owner = running[0]?.lease_owner ?? '';
  expect(owner).not.toBe('');
  expect(new Set(running.map((j) => j.lease_owner))).toEqual(new Set([owner]));

  await Promise.all(later.map((n) => w.send(bot.port, n)));
  // Answered 202 only after the commit: what the file holds now is what intake stored.
  const stored = w.jobs().filter((j) => j.type === 'delivery' && later.includes(j.delivery ?? ''));
  expect(stored).toHaveLength(LATER);
  const claimed = stored.filter((j) => j.state === 'running');
  for (const job of claimed) expect(job).toMatchObject({ attempts: 1, lease_owner: owner });
  for (const job of stored.filter((j) => j.state !== 'running')) expect(job).toMatchObject({ state: 'pending', attempts: 0, lease_owner: null });
  // What these tests are about: jobs the process holds without having started them.
  expect(claimed.length).toBeGreaterThan(0);
  if (renewed) {
    // Their leases are renewed while they wait (wait for a renewal of each; it comes every third of the lease).
    const leasedUntil = new Map(claimed.map((j) => [j.id, j.lease_expires_at ?? '']));
    await until(
      () => w.jobs().filter((j) => leasedUntil.has(j.id)).every((j) => j.state === 'running' && j.lease_owner === owner && (j.lease_expires_at ?? '') > (leasedUntil.get(j.id) ?? '')),
      'the waiting jobs’ leases to be renewed',
      20_000,
    );
  }
  // Still waiting: none of them has run (no reaction job for them, no script started).
  expect(w.jobs().filter((j) => j.type === 'reaction')).toHaveLength(SLOTS);
  expect(w.lines('starts')).toHaveLength(SLOTS);
  return { owner, claimed: new Set(claimed.map((j) => j.id)) };
}

/** With the gate open, every delivery's run finishes exactly once; the later ones started once only. */
async function expectEveryRunOnce(w: Workspace): Promise<JobRow[]> {
  await until(() => w.lines('done').length >= SLOTS + LATER && w.jobs().every((j) => j.state === 'done'), 'every delivery to run to completion', 60_000);
  for (const n of [...first, ...later]) expect([n, w.count('done', n)]).toEqual([n, 1]);
  // Runs cut by the stop ran again; runs that had not started ran exactly once.
  for (const n of first) expect([n, w.count('starts', n)]).toEqual([n, 2]);
  for (const n of later) expect([n, w.count('starts', n)]).toEqual([n, 1]);
  const after = w.jobs();
  expect(after.filter((j) => j.type === 'reaction')).toHaveLength(SLOTS + LATER);
  expect(after.filter((j) => j.state !== 'done')).toEqual([]);
  return after;
}

describe('jobs claimed at intake, when the process that claimed them stops', () => {
  test('kill -9: its running and waiting jobs are taken over after their lease; every delivery runs to completion, none that had not started runs twice', async () => {
    const w = workspace('kill', { DECKHAND_JOB_LEASE: '2s' });
    const bot = await w.start();
    const { owner, claimed } = await fillAndQueue(w, bot, true);

    // The machine "dies": the bot and its scripts go together.
    bot.child.kill('SIGKILL');
    killGroups(w.groups());
    await bot.exited;
    expect(w.lines('done')).toEqual([]);
    // The dead process still holds them; only their leases running out frees them.
    expect(w.jobs().filter((j) => j.state === 'running' && j.lease_owner === owner)).toHaveLength(SLOTS + claimed.size);

    w.openGate();
    const second = await w.start();
    const after = await expectEveryRunOnce(w);
    // The jobs waiting in the killed process were taken over (their second attempt); the pending ones ran once.
    for (const job of after.filter((j) => j.type === 'delivery' && later.includes(j.delivery ?? ''))) expect(job).toMatchObject({ attempts: claimed.has(job.id) ? 2 : 1 });
    expect(
      after
        .filter((j) => j.type === 'reaction')
        .map((j) => j.attempts)
        .sort(),
    ).toEqual([...Array(LATER).fill(1), ...Array(SLOTS).fill(2)]);
    second.child.stdin.end();
    expect(await second.exited).toBe(0);
  }, 120_000);

  test('SIGTERM: the jobs still waiting are handed back at once (no lease to wait out); a new process runs each of them once', async () => {
    // A lease far longer than the test: only the hand-back lets another process have these jobs.
    const w = workspace('sigterm', { DECKHAND_JOB_LEASE: '10m', DECKHAND_SHUTDOWN_GRACE: '0s' });
    const bot = await w.start();
    const { owner, claimed } = await fillAndQueue(w, bot, false);

    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(0);
    const handedBack = w.jobs().filter((j) => claimed.has(j.id));
    for (const job of handedBack) expect(job).toMatchObject({ state: 'pending', lease_owner: null, lease_expires_at: null });
    expect(w.jobs().filter((j) => j.state === 'running' || j.lease_owner === owner)).toEqual([]);
    expect(w.lines('done')).toEqual([]);

    w.openGate();
    const second = await w.start();
    await expectEveryRunOnce(w);
    second.child.stdin.end();
    expect(await second.exited).toBe(0);
  }, 120_000);
});
