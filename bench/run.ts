/**
 * npm run bench [-- --only github,start] [-- --deliveries N] — Deckhand side by side with the real
 * anchors, in one run so the ratios are comparable on any machine:
 *
 *   POST /webhooks/github   the built bot vs @octokit/webhooks' createNodeMiddleware and bare node:http,
 *                           on an empty store and on one holding N stored deliveries (seeded first)
 *   POST /triggers/<name>   the built bot vs bare node:http
 *   POST /slack/events      the built bot vs a bare Bolt 5 App (HTTP mode, signatures on)
 *   end to end (e2e)        webhook → reaction → chat.postMessage arrived at a fake Slack: actions/s
 *                           at full speed next to ingest, p50/p99 at 200 events/s over 200 channels;
 *                           a chat command's reply at 20/s vs bare Bolt (lib/e2e.ts)
 *   chat dispatch           Deckhand's dispatcher vs Hubot 14 robot.receive, as many listeners as commands
 *   start, idle memory      `node dist/src/main.js` to GET /readyz 200, RSS after idling, vs bare Bolt
 *   disk                    database bytes per stored delivery
 *
 * Every server is a child process on 127.0.0.1 with the same secrets; autocannon (npm) drives the
 * HTTP load, each request with its own delivery id and signature, after a warm-up. Deckhand runs
 * as in production: `node dist/src/main.js` on Slack (HTTP mode, against the fake Slack of the
 * tests), a SQLite file, one webhook reaction, default log level. The table goes to stdout and to
 * bench/last-run.md; progress goes to stderr. Options:
 *   --only LIST      some of dispatch, start, github, seeded, trigger, slack, e2e (default: all); a
 *                    partial run only prints its table, unless --out is given
 *   --deliveries N   stored deliveries seeded for the `seeded` row (default 1000000; the seeded
 *                    rows carry a trimmed ~0.5 KB body, see lib/store-file.ts); e.g. 100000 for a quick run
 *   --duration S (10 per side), --warmup S (3), --connections C (10), --rounds R (2: the sides of a
 *   comparison take turns, see lib/load.ts)
 *   --profile        also a CPU profile of the bot under the GitHub load, summarised (of the
 *                    seeded store with --only seeded; under the trigger or Slack load when only
 *                    those rows run)
 *   --out FILE, --keep (leave the work directory: logs, databases)
 * Quick look at one thing: npm run bench -- --only github,seeded --deliveries 100000 --duration 4 --warmup 1
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { projectRoot } from '../src/app.js';
import { compareDispatch } from './lib/dispatch.js';
import { runE2e } from './lib/e2e.js';
import { compareLoads, type LoadOptions, type LoadResult, type OneRequest } from './lib/load.js';
import { githubRequests, mergedPullRequestBody, secrets, slackAmbientRequests, triggerBody, triggerName, triggerRequests } from './lib/payloads.js';
import { profileMarkdown, summariseProfile } from './lib/profile.js';
import { failures, latency, machine, mib, ms, ratio, rps, table, type Row } from './lib/report.js';
import { measureStarts, startServer, waitQuiet, type RunningServer, type ServerSpec, type StartResult } from './lib/servers.js';
import { countDeliveries, databaseBytes, seedDeliveries } from './lib/store-file.js';

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    deliveries: { type: 'string', default: '1000000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const sectionNames = ['dispatch', 'start', 'github', 'seeded', 'trigger', 'slack', 'e2e'] as const;
type Section = (typeof sectionNames)[number];
const only = new Set((flags.only ?? sectionNames.join(',')).split(',').map((s) => s.trim()).filter(Boolean));
for (const name of only) if (!(sectionNames as readonly string[]).includes(name)) throw new Error(`--only: unknown "${name}"; choose from ${sectionNames.join(', ')}`);
const wanted = (section: Section) => only.has(section);
const partial = only.size < sectionNames.length;
// A partial run only prints its table (unless --out says where to write it): last-run.md is the whole run's.
const outFile = flags.out ?? (partial ? null : path.join(projectRoot, 'bench', 'last-run.md'));
const seeded = Number(flags.deliveries);
const load: LoadOptions = { duration: Number(flags.duration), warmup: Number(flags.warmup), connections: Number(flags.connections), rounds: Number(flags.rounds) };
if (![seeded, load.duration, load.warmup, load.connections, load.rounds].every((n) => Number.isInteger(n) && n >= 0) || load.duration < 1 || load.connections < 1 || load.rounds < 1) {
  throw new Error('--deliveries, --duration, --warmup, --connections and --rounds take whole numbers (duration, connections and rounds at least 1)');
}

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const work = mkdtempSync(path.join(os.tmpdir(), 'deckhand-bench-'));
const notes: string[] = [];
const children: RunningServer[] = [];
let fakeSlack = null as { stop: () => void } | null;

const anchorScript = (name: string) => path.join(projectRoot, 'dist', 'bench', 'anchors', `${name}.js`);
const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work, TMPDIR: os.tmpdir() };

/** The fake Slack of the tests, in a process of its own, for auth.test (Deckhand and bare Bolt). */
async function startFakeSlack(): Promise<{ apiUrl: string; botToken: string; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'bench', 'fake-slack.js')], { cwd: work, stdio: ['ignore', 'pipe', openSync(path.join(work, 'fake-slack.log'), 'a')] });
  const stdout = child.stdout;
  if (!stdout) throw new Error('no stdout from the fake Slack');
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the fake Slack exited with ${code} (log: ${work}/fake-slack.log)`)));
  });
  stdout.resume();
  const info = JSON.parse(line) as { apiUrl: string; botToken: string };
  return { ...info, stop: () => void child.kill('SIGTERM') };
}

function writeReaction(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'bench-trigger.yaml'),
    [
      '# The bench\'s one reaction: POST /triggers/bench with an API key. Its filter never matches, so',
      '# each delivery\'s job is: load the delivery, evaluate the filter, done.',
      'name: bench-trigger',
      'on:',
      `  webhook: ${triggerName}`,
      '  auth: { api_key: "${secret.BENCH_TRIGGER_KEY}" }',
      '  where: { path: payload.bench_never_present, exists: true }',
      'do:',
      '  - chat: { channel: "#bench", text: "not sent" }',
      '',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  say(`work directory ${work}; ${load.duration} s per measurement after ${load.warmup} s of warm-up, ${load.connections} connections`);
  const slack = await startFakeSlack();
  fakeSlack = slack;
  const reactions = path.join(work, 'reactions');
  writeReaction(reactions);

  let runs = 0;
  const deckhand = (name: string, database: string, nodeFlags: string[] = []): ServerSpec => {
    const dir = path.join(work, `${++runs}-${name}`);
    mkdirSync(dir, { recursive: true });
    return {
      name: `Deckhand (${name})`,
      args: [...nodeFlags, path.join(projectRoot, 'dist', 'src', 'main.js')],
      cwd: dir,
      logFile: path.join(dir, 'deckhand.log'),
      env: {
        ...baseEnv,
        HOST: '127.0.0.1',
        DATABASE_URL: `sqlite:${database}`,
        DECKHAND_DATA_DIR: path.join(dir, 'data'),
        DECKHAND_REACTIONS: reactions,
        GITHUB_WEBHOOK_SECRET: secrets.github,
        // A token, so merged pull requests go through the real handler; no app maps to the
        // example's repository, so nothing calls GitHub (and this URL goes nowhere if it did).
        GITHUB_TOKEN: 'ghp_bench_token_not_used',
        GITHUB_API_URL: 'http://127.0.0.1:9/',
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: secrets.slackSigning,
        SLACK_API_URL: slack.apiUrl,
        BENCH_TRIGGER_KEY: secrets.triggerKey,
      },
    };
  };
  const anchor = (name: string, script: string): ServerSpec => {
    const dir = path.join(work, `${++runs}-${name}`);
    mkdirSync(dir, { recursive: true });
    return {
      name,
      args: [anchorScript(script)],
      cwd: dir,
      logFile: path.join(dir, 'anchor.log'),
      env: { ...baseEnv, GITHUB_WEBHOOK_SECRET: secrets.github, SLACK_BOT_TOKEN: slack.botToken, SLACK_SIGNING_SECRET: secrets.slackSigning, SLACK_API_URL: slack.apiUrl },
    };
  };

  /** Starts the servers, loads them in turns (lib/load.ts), and hands them back still running. */
  const compare = async (what: string, specs: Array<{ spec: ServerSpec; next: () => OneRequest }>): Promise<{ results: LoadResult[]; servers: RunningServer[] }> => {
    const servers: RunningServer[] = [];
    for (const { spec } of specs) {
      const server = await startServer(spec);
      children.push(server);
      servers.push(server);
    }
    say(`${what}: ${specs.map((s) => s.spec.name).join(' | ')} ...`);
    const results = await compareLoads(
      servers.map((server, i) => ({ url: server.url, next: (specs[i] as { next: () => OneRequest }).next, pid: server.pid })),
      load,
      () => waitQuiet(servers.map((s) => s.pid)),
    );
    results.forEach((r, i) =>
      say(`${what}: ${specs[i]?.spec.name}: ${rps(r)} (rounds: ${r.perRound.map((x) => Math.round(x)).join(', ')}), p50/p99 ${latency(r)}, errors ${failures(r)}, CPU ${cpuPerOk(r)} per answer; quiet ${(r.settleMs / 1000).toFixed(1)} s after each round${r.settled ? '' : ' (gave up waiting)'}`),
    );
    results.forEach((r, i) => cpuUse.push(`${specs[i]?.spec.name} ${cpuPerOk(r)}`));
    return { results, servers };
  };
  const stopAll = async (servers: RunningServer[]) => {
    for (const server of servers) {
      await server.stop();
      children.splice(children.indexOf(server), 1);
    }
  };

  const rows: Row[] = [];
  /** Each loaded server's CPU time per 2xx answer: the figure that other load on the machine hardly moves. */
  const cpuUse: string[] = [];
  const logs: string[] = [];
  const settles: string[] = [];
  const dash = '—';
  const loadRow = (what: string, d: LoadResult, anchorName: string, a: LoadResult): Row => ({
    what,
    deckhand: rps(d),
    deckhandLatency: latency(d),
    deckhandErrors: failures(d),
    anchor: anchorName,
    anchorValue: rps(a),
    anchorLatency: latency(a),
    anchorErrors: failures(a),
    ratio: ratio(d.rps, a.rps),
  });

  // ---- chat dispatch (in this process, before any load) -----------------------------------------
  if (wanted('dispatch')) {
    say('chat dispatch: Deckhand dispatcher vs Hubot robot.receive ...');
    const dispatch = await compareDispatch(2);
    rows.push({
      what: `chat dispatch, ${dispatch.commands} commands (6 messages: 4 addressed, 2 ambient)`,
      deckhand: `${Math.round(dispatch.deckhand.perSecond).toLocaleString('en')} msg/s`,
      deckhandLatency: `${dispatch.deckhand.meanUs.toFixed(1)} µs mean`,
      deckhandErrors: dash,
      anchor: `Hubot ${dispatch.hubotVersion} \`robot.receive\`, ${dispatch.listeners} listeners`,
      anchorValue: `${Math.round(dispatch.hubot.perSecond).toLocaleString('en')} msg/s`,
      anchorLatency: `${dispatch.hubot.meanUs.toFixed(1)} µs mean`,
      anchorErrors: dash,
      ratio: ratio(dispatch.deckhand.perSecond, dispatch.hubot.perSecond),
    });
  }

  // ---- start time and idle memory ---------------------------------------------------------------
  if (wanted('start')) {
    say('start to /readyz and idle memory: Deckhand vs bare Bolt ...');
    const [startDeckhand, startBolt] = (await measureStarts([deckhand('start', path.join(work, 'start.db')), anchor('bare Bolt (start)', 'bare-bolt')], 5, 3000)) as [StartResult, StartResult];
    say(`start: Deckhand ${startDeckhand.startMs.map((t) => ms(t)).join(', ')} ms, RSS ${mib(startDeckhand.idleRss)}; bare Bolt ${startBolt.startMs.map((t) => ms(t)).join(', ')} ms, RSS ${mib(startBolt.idleRss)}`);
    rows.push(
      {
        what: '`node dist/src/main.js` start to `/readyz` 200 (median of 5)',
        deckhand: `${(startDeckhand.medianMs / 1000).toFixed(2)} s`,
        deckhandLatency: dash,
        deckhandErrors: dash,
        anchor: 'bare Bolt 5 `App` (HTTP mode, auth.test, custom route)',
        anchorValue: `${(startBolt.medianMs / 1000).toFixed(2)} s`,
        anchorLatency: dash,
        anchorErrors: dash,
        ratio: ratio(startDeckhand.medianMs, startBolt.medianMs),
      },
      {
        what: 'resident memory after 3 s idle',
        deckhand: mib(startDeckhand.idleRss),
        deckhandLatency: dash,
        deckhandErrors: dash,
        anchor: 'bare Bolt 5 `App`',
        anchorValue: mib(startBolt.idleRss),
        anchorLatency: dash,
        anchorErrors: dash,
        ratio: ratio(startDeckhand.idleRss, startBolt.idleRss),
      },
    );
  }

  // ---- POST /webhooks/github (the empty store, the anchors, and the seeded store) -------------------
  const githubBody = mergedPullRequestBody();
  const githubKb = `${(Buffer.byteLength(githubBody) / 1000).toFixed(1)} KB`;
  if (wanted('github') || wanted('seeded')) {
    const emptyDb = path.join(work, 'github-empty.db');
    const ghEmptySpec = deckhand('github, empty store', emptyDb);
    const sides: Array<{ spec: ServerSpec; next: () => OneRequest }> = [{ spec: ghEmptySpec, next: githubRequests(githubBody) }];
    const seededDb = path.join(work, 'github-seeded.db');
    const ghSeededSpec = deckhand(`github, ${seeded} stored deliveries`, seededDb);
    let seeding = { seconds: 0, bodyBytes: 0 };
    let seededBytesBefore = 0;
    if (wanted('seeded')) {
      say(`seeding ${seeded.toLocaleString('en')} stored deliveries ...`);
      seeding = await seedDeliveries(seededDb, seeded, githubBody, (done) => {
        if (done % 100_000 === 0 || done === seeded) say(`  ${done.toLocaleString('en')} seeded`);
      });
      seededBytesBefore = databaseBytes(seededDb);
      sides.push({ spec: ghSeededSpec, next: githubRequests(githubBody) });
    }
    if (wanted('github')) {
      sides.push({ spec: anchor('@octokit/webhooks middleware', 'octokit-webhooks'), next: githubRequests(githubBody) });
      sides.push({ spec: anchor('bare node:http (github)', 'bare-http'), next: githubRequests(githubBody) });
    }
    const github = await compare('github', sides);
    const [ghEmpty, ...rest] = github.results as [LoadResult, ...LoadResult[]];
    const ghSeeded = wanted('seeded') ? rest.shift() : undefined;
    const [octokit, bareGithub] = rest;
    const memoryAfterGithub = (github.servers[0] as RunningServer).memory();
    await stopAll(github.servers);
    const emptyStats = storeStats(emptyDb);
    const ghWhat = `\`POST /webhooks/github\`, ${githubKb} merged \`pull_request\`, empty store`;
    if (octokit && bareGithub) {
      rows.push(loadRow(ghWhat, ghEmpty, '@octokit/webhooks `createNodeMiddleware` (verify + dispatch)', octokit), loadRow(ghWhat, ghEmpty, 'bare `node:http` (read body, 200)', bareGithub));
      settles.push(`GitHub empty ${settle(ghEmpty)}`, `octokit ${settle(octokit)}`, `bare node:http ${settle(bareGithub)}`);
    }
    if (ghSeeded) {
      const seededStats = storeStats(seededDb);
      rows.push(loadRow(`\`POST /webhooks/github\`, ${githubKb}, ${seeded.toLocaleString('en')} stored deliveries`, ghSeeded, 'Deckhand, empty store', ghEmpty));
      notes.push(`Seeded store: ${seeded.toLocaleString('en')} deliveries (each with its job, done), ${mib(seededBytesBefore)} before the run, seeded in ${seeding.seconds.toFixed(0)} s; the seeded rows carry a ${seeding.bodyBytes.toLocaleString('en')}-byte body (the same pull request, trimmed: ${seeded.toLocaleString('en')} full bodies would be ${Math.round((seeded * Buffer.byteLength(githubBody)) / 2 ** 30)} GiB); after the run ${describeJobs(seededStats)}.`);
      settles.push(`GitHub seeded ${settle(ghSeeded)}`);
      logs.push(`GitHub seeded: ${logSummary(ghSeededSpec.logFile)}`);
    }
    // Disk per delivery: from the store of the empty-store run, which holds only real, full deliveries.
    rows.push({
      what: `database bytes per stored delivery (${emptyStats.deliveries.toLocaleString('en')} stored by the GitHub run, ${githubKb} body)`,
      deckhand: `${(emptyStats.bytes / Math.max(1, emptyStats.deliveries) / 1000).toFixed(1)} KB`,
      deckhandLatency: dash,
      deckhandErrors: dash,
      anchor: 'the body itself',
      anchorValue: githubKb,
      anchorLatency: dash,
      anchorErrors: dash,
      ratio: ratio(emptyStats.bytes / Math.max(1, emptyStats.deliveries), Buffer.byteLength(githubBody)),
    });
    notes.push(`Deckhand after the GitHub load: RSS ${mib(memoryAfterGithub.rss)} (peak ${mib(memoryAfterGithub.peak)}). Its store: ${emptyStats.deliveries.toLocaleString('en')} deliveries in ${mib(emptyStats.bytes)}, ${describeJobs(emptyStats)} when it stopped.`);
    logs.push(`GitHub, empty store: ${logSummary(ghEmptySpec.logFile)}`);
  }

  // ---- POST /triggers/<name> ----------------------------------------------------------------------
  if (wanted('trigger')) {
    const body1k = triggerBody();
    const triggerSpec = deckhand('trigger', path.join(work, 'trigger.db'));
    const triggers = await compare('trigger', [
      { spec: triggerSpec, next: triggerRequests(body1k) },
      { spec: anchor('bare node:http (trigger)', 'bare-http'), next: triggerRequests(body1k) },
    ]);
    const [trigger, bareTrigger] = triggers.results as [LoadResult, LoadResult];
    await stopAll(triggers.servers);
    const triggerStats = storeStats(path.join(work, 'trigger.db'));
    rows.push(loadRow(`\`POST /triggers/${triggerName}\`, ${(Buffer.byteLength(body1k) / 1000).toFixed(1)} KB JSON, API key`, trigger, 'bare `node:http` (read body, 200)', bareTrigger));
    notes.push(`Trigger run: ${describeJobs(triggerStats)} when it stopped.`);
    settles.push(`trigger ${settle(trigger)}`, `bare node:http (trigger) ${settle(bareTrigger)}`);
    logs.push(`trigger: ${logSummary(triggerSpec.logFile)}`);
  }

  // ---- POST /slack/events -------------------------------------------------------------------------
  if (wanted('slack')) {
    const slackSpec = deckhand('slack', path.join(work, 'slack.db'));
    const slacks = await compare('slack', [
      { spec: slackSpec, next: slackAmbientRequests() },
      { spec: anchor('bare Bolt', 'bare-bolt'), next: slackAmbientRequests() },
    ]);
    const [slackDeckhand, slackBolt] = slacks.results as [LoadResult, LoadResult];
    await stopAll(slacks.servers);
    const slackStats = storeStats(path.join(work, 'slack.db'));
    rows.push(loadRow('`POST /slack/events`, signed ambient channel messages, unique event ids', slackDeckhand, 'bare Bolt 5 `App`, HTTP mode, signatures on, a `message` listener', slackBolt));
    notes.push(`Slack run: ${slackStats.seenKeys.toLocaleString('en')} message ids stored as seen (none of the messages was for the bot).`);
    settles.push(`Slack ${settle(slackDeckhand)}`, `bare Bolt ${settle(slackBolt)}`);
    logs.push(`Slack: ${logSummary(slackSpec.logFile)}`);
  }

  // ---- end to end: webhook → reaction → chat, and a chat command's reply (lib/e2e.ts) -------------
  if (wanted('e2e')) {
    const e2e = await runE2e({
      dir: path.join(work, 'e2e'),
      slackScript: path.join(projectRoot, 'dist', 'bench', 'e2e-slack.js'),
      say,
      deckhand: (name, env) => {
        const spec = deckhand(name, path.join(work, `${name}.db`));
        return { ...spec, env: { ...spec.env, ...env } };
      },
      anchor: (name, script, env) => {
        const spec = anchor(name, script);
        return { ...spec, env: { ...spec.env, ...env } };
      },
      start: async (spec) => {
        const server = await startServer(spec);
        children.push(server);
        return server;
      },
      stop: stopAll,
      options: { duration: load.duration, warmup: load.warmup, connections: load.connections },
    });
    rows.push(...e2e.rows);
    notes.push(...e2e.notes);
    logs.push(`e2e: ${logSummary(e2e.deckhandLog)}`);
  }

  // ---- optional CPU profile -----------------------------------------------------------------------
  let profile = '';
  if (flags.profile) {
    const profDir = path.join(work, 'cpu-profile');
    // Under the GitHub load, unless only the trigger or Slack rows run (then under that load). With
    // --only seeded: of the seeded store (after its run); otherwise of an empty one.
    const kind = wanted('github') || wanted('seeded') || !(wanted('trigger') || wanted('slack')) ? 'github' : wanted('trigger') ? 'trigger' : 'slack';
    const profiledDb = kind === 'github' && wanted('seeded') && !wanted('github') ? path.join(work, 'github-seeded.db') : path.join(work, 'profiled.db');
    const next = kind === 'github' ? githubRequests(githubBody) : kind === 'trigger' ? triggerRequests(triggerBody()) : slackAmbientRequests();
    const profiled = await compare('profile', [{ spec: deckhand(`${kind}, profiled`, profiledDb, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]), next }]);
    await stopAll(profiled.servers);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      // Kept outside the work directory (removed at the end) for a closer look.
      const kept = path.join(os.tmpdir(), `deckhand-${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
      copyFileSync(path.join(profDir, file), kept);
      profile = profileMarkdown(summariseProfile(kept)).replace('under the GitHub load', `under the ${kind === 'github' ? 'GitHub' : kind === 'trigger' ? 'trigger' : 'Slack'} load`);
      notes.push(`The CPU profile is at ${kept} (Chrome DevTools or speedscope open it; \`node dist/bench/lib/profile.js FILE\` summarises it).`);
    } else notes.push('--profile: the bot wrote no CPU profile (did it exit through process.exit?).');
  }

  // ---- the table ----------------------------------------------------------------------------------
  if (cpuUse.length) notes.push(`CPU time (user + system) of each server per 2xx answer, over the measured rounds and the settling after them (so a delivery's job counts with it); unlike req/s it hardly moves when other processes share the cores: ${cpuUse.join(', ')}.`);
  if (settles.length) notes.push(`Work left after the load (CPU still busy after a round, until under 15% of a core): ${settles.join(', ')}.`);
  if (logs.length) notes.push(`Deckhand's log (warnings and errors): ${logs.join('; ')}.`);
  const out = [
    partial ? `## Partial run (${[...only].join(', ')})` : '## Last run',
    '',
    table(rows),
    '',
    machine(loadBefore, os.loadavg()),
    `Each load: autocannon, ${load.connections} connections, ${load.duration} s measured after ${load.warmup} s of warm-up, every request with its own delivery id; req/s counts 2xx answers only. Every server is its own process on 127.0.0.1; the load generator runs on the same cores.`,
    '',
    ...notes.map((n) => `- ${n}`),
    ...(profile ? ['', profile] : []),
    '',
  ].join('\n');
  process.stdout.write(out);
  if (outFile) {
    writeFileSync(outFile, out);
    say(`written to ${outFile}`);
  }
}

function cpuPerOk(r: LoadResult): string {
  return r.cpuUsPerOk === null ? 'n/a' : `${Math.round(r.cpuUsPerOk).toLocaleString('en')} µs`;
}

function settle(r: LoadResult): string {
  return `${(r.settleMs / 1000).toFixed(1)} s${r.settled ? '' : ' (still busy when the bench gave up waiting)'}`;
}

interface StoreStats {
  bytes: number;
  deliveries: number;
  jobs: Record<string, number>;
  seenKeys: number;
}

function storeStats(file: string): StoreStats {
  const db = new Database(file, { readonly: true });
  try {
    const jobs = Object.fromEntries((db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: string; n: number }>).map((r) => [r.state, r.n]));
    const seenKeys = (db.prepare('SELECT count(*) AS n FROM seen_keys').get() as { n: number }).n;
    return { bytes: databaseBytes(file), deliveries: countDeliveries(file), jobs, seenKeys };
  } finally {
    db.close();
  }
}

function describeJobs(stats: StoreStats): string {
  const total = Object.values(stats.jobs).reduce((a, b) => a + b, 0);
  const parts = Object.entries(stats.jobs).map(([state, n]) => `${n.toLocaleString('en')} ${state}`);
  return `jobs ${parts.join(', ') || 'none'} (of ${total.toLocaleString('en')})`;
}

/** Warnings and errors the bot logged (pino JSON lines), by message. */
function logSummary(file: string): string {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 'no log';
  }
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) < 40) continue;
      const key = `${entry.level === 40 ? 'warn' : 'error'} "${entry.msg ?? ''}"`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } catch {
      // a line that is not JSON: not the logger's
    }
  }
  return counts.size ? [...counts.entries()].map(([k, n]) => `${n.toLocaleString('en')} × ${k}`).join('; ') : 'no warnings or errors';
}

// Interrupted: no server is left running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of children) child.kill();
    fakeSlack?.stop();
    if (!flags.keep) rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}

try {
  await main();
} finally {
  await Promise.all(children.map((c) => c.stop()));
  fakeSlack?.stop();
  if (!flags.keep) rmSync(work, { recursive: true, force: true });
}
