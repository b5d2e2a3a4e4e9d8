import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { projectRoot } from '../../../src/app.js';
import type { AnyEvent } from '../../../src/core/events.js';
import type { Job } from '../../../src/core/model.js';
import { ReactionEngine, stepRunId } from '../../../src/reactions/engine.js';
import { loadReactions } from '../../../src/reactions/load-reactions.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { startRecordingServer, type RecordingServer } from '../../fakes/recording-server.js';
import { until } from '../../fixtures/in-process.js';

const recordRunId = path.join(projectRoot, 'test/fixtures/reactions/record-run-id.sh');
const LEASE_MS = 60_000;

interface Setup {
  engine: ReactionEngine;
  store: SqliteStore;
  /** Parsed log lines at warn and above. */
  warnings: Array<Record<string, unknown>>;
  reruns: Array<[string, string]>;
}

async function setup(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<Setup> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-idem-'));
  const dir = path.join(root, 'reactions');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const { reactions, disabled } = loadReactions(dir, env);
  expect(disabled).toEqual([]);
  const store = new SqliteStore(':memory:');
  await store.migrate();
  const warnings: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) warnings.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const reruns: Array<[string, string]> = [];
  const engine = new ReactionEngine({
    reactions,
    store,
    clock: { now: () => new Date() },
    logger: pino({ level: 'warn' }, sink),
    actions: {} as never,
    chat: () => null,
    baseDir: root,
    enqueue: (job) => store.enqueueJob(job),
    http: { sleep: async () => undefined },
    onStepRerun: (kind, previous) => void reruns.push([kind, previous]),
  });
  return { engine, store, warnings, reruns };
}

let eventId = 0;
function released(version: string): AnyEvent {
  eventId += 1;
  return { id: `evt-${eventId}`, type: 'release.created', at: new Date().toISOString(), source: 'test', data: { release: { app: 'hello', version } } } as unknown as AnyEvent;
}

/** Claims the next job as `owner`, at `now` (later than a lapsed lease: a take-over). */
async function claim(store: SqliteStore, owner: string, now = new Date()): Promise<Job> {
  const job = await store.claimJob(owner, now.toISOString(), LEASE_MS);
  if (!job) throw new Error('no job to claim');
  return job;
}

/** Fails the attempt `owner` holds and makes the job due again at once (what the worker does on a retryable error). */
async function retry(store: SqliteStore, job: Job, owner: string): Promise<void> {
  const now = new Date().toISOString();
  await store.failJob(job.id, owner, 'failed', now, now);
}

describe('stepRunId', () => {
  const job = { id: 7, type: 'reaction', key: 'reaction:r:event:1', createdAt: '2026-01-01T00:00:00.000Z', payload: { reaction: 'r', context: {}, nonce: 'a-random-nonce' } };
  test('stable per job step, different per step, per nonce; shows nothing of what it is made of', () => {
    expect(stepRunId(job, 0)).toMatch(/^deckhand-[0-9a-f]{32}$/);
    expect(stepRunId({ ...job }, 0)).toBe(stepRunId(job, 0));
    expect(stepRunId(job, 1)).not.toBe(stepRunId(job, 0));
    // Another installation's job with the same id and key has another nonce.
    expect(stepRunId({ ...job, payload: { ...job.payload, nonce: 'another-nonce' } }, 0)).not.toBe(stepRunId(job, 0));
    expect(stepRunId(job, 0)).not.toContain('nonce');
  });
  test('without a nonce (schedule ticks, older jobs): from the job id, key and creation time', () => {
    const tick = { ...job, type: 'tick', payload: { reaction: 'r', tick: 'x' } };
    expect(stepRunId(tick, 0)).toMatch(/^deckhand-[0-9a-f]{32}$/);
    expect(stepRunId(tick, 0)).toBe(stepRunId({ ...tick }, 0));
    expect(stepRunId({ ...tick, id: 8 }, 0)).not.toBe(stepRunId(tick, 0));
    expect(stepRunId({ ...tick, createdAt: '2026-01-01T00:00:00.001Z' }, 0)).not.toBe(stepRunId(tick, 0));
  });
});

describe('reaction http: Idempotency-Key', () => {
  let server: RecordingServer;
  beforeEach(async () => {
    server = await startRecordingServer();
  });
  afterEach(async () => {
    await server.close();
  });

  const twoSteps = (url: string) => `
on: { event: release.created, where: { app: hello } }
do:
  - http: { method: POST, url: "${url}/first", json: { v: "{{ release.version }}" } }
  - http: { method: PATCH, url: "${url}/second", json: { v: "{{ release.version }}" }, attempts: 1 }
`;

  test('the same key on every attempt of a step and on a retry of its job; another key per step and per event; the re-run is logged', async () => {
    const { engine, store, warnings, reruns } = await setup({ 'marker.yaml': twoSteps(server.url) });
    await engine.onEvent(released('1.0.0'));
    // Step 0: a 503, then the retry within the step succeeds. Step 1 (one attempt) gets a 503: the job fails.
    const failOnce = new Set(['/first', '/second']);
    server.respond((req) => (failOnce.delete(req.path) ? { status: 503, body: 'down' } : { status: 200, body: '{}' }));
    const first = await claim(store, 'w1');
    await expect(engine.handleRun(first)).rejects.toThrow(/HTTP PATCH failed after 1 attempts: HTTP 503/);
    await retry(store, first, 'w1');
    const second = await claim(store, 'w2');
    expect(second.attempts).toBe(2);
    await engine.handleRun(second);

    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /first', 'POST /first', 'PATCH /second', 'PATCH /second']);
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^deckhand-[0-9a-f]{32}$/);
    expect(keys[1]).toBe(keys[0]); // the HTTP retry within the step
    expect(keys[2]).toMatch(/^deckhand-[0-9a-f]{32}$/);
    expect(keys[2]).not.toBe(keys[0]); // another step
    expect(keys[3]).toBe(keys[2]); // the job's retry
    // The first step succeeded in attempt 1 and is not repeated; the second is, and that is said.
    expect(warnings.filter((w) => /re-run/.test(String(w.msg)))).toEqual([
      expect.objectContaining({ level: 40, reaction: 'marker', jobId: second.id, step: 1, kind: 'http', attempt: 2, previousAttempt: 1, previous: 'failed', runId: keys[2] }),
    ]);
    expect(reruns).toEqual([['http', 'failed']]);

    // Another event: another job, other keys.
    await engine.onEvent(released('1.0.1'));
    const third = await claim(store, 'w1');
    await engine.handleRun(third);
    const later = server.requests.slice(4).map((r) => r.headers['idempotency-key']);
    expect(later).toHaveLength(2);
    for (const key of later) expect(keys).not.toContain(key);
    expect(later[0]).not.toBe(later[1]);
    // Nothing secret or identifying in it: no job id, no reaction name, no version.
    expect(JSON.stringify(keys)).not.toMatch(/marker|1\.0\.0|reaction:/);
  });

  test('two installations with the same job ids and keys send different keys', async () => {
    const a = await setup({ 'marker.yaml': twoSteps(server.url) });
    const b = await setup({ 'marker.yaml': twoSteps(server.url) });
    const event = released('2.0.0');
    await a.engine.onEvent(event);
    await b.engine.onEvent(event);
    const ja = await claim(a.store, 'w');
    const jb = await claim(b.store, 'w');
    expect([ja.id, ja.key]).toEqual([jb.id, jb.key]);
    await a.engine.handleRun(ja);
    await b.engine.handleRun(jb);
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(4);
  });

  test('not on GET, PUT or DELETE; a key the reaction sets itself (any case) is kept', async () => {
    const { engine, store } = await setup({
      'methods.yaml': `
on: { event: release.created, where: { app: hello } }
do:
  - http: { method: GET, url: "${server.url}/get" }
  - http: { method: PUT, url: "${server.url}/put", json: {} }
  - http: { method: DELETE, url: "${server.url}/delete" }
  - http: { method: POST, url: "${server.url}/own", headers: { IDEMPOTENCY-key: "mine-{{ release.version }}" }, json: {} }
`,
    });
    await engine.onEvent(released('3.0.0'));
    await engine.handleRun(await claim(store, 'w'));
    expect(server.requests.map((r) => [r.path, r.headers['idempotency-key']])).toEqual([
      ['/get', undefined],
      ['/put', undefined],
      ['/delete', undefined],
      ['/own', 'mine-3.0.0'],
    ]);
  });
});

describe('reaction script: DECKHAND_RUN_ID and DECKHAND_RUN_ATTEMPT', () => {
  const scriptReaction = (out: string, env: string) => `
on: { event: release.created, where: { app: hello } }
do:
  - script: { path: ${recordRunId}, env: { OUT_FILE: "${out}", ${env} } }
  - script: { path: ${recordRunId}, env: { OUT_FILE: "${out}.second" } }
`;
  const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);

  test('a step that failed runs again with the same run id, the next attempt, and is logged as a re-run', async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-runid-')), 'runs.log');
    const { engine, store, warnings, reruns } = await setup({ 's.yaml': scriptReaction(out, 'FAIL_FIRST: "1"') });
    await engine.onEvent(released('4.0.0'));
    const first = await claim(store, 'w1');
    await expect(engine.handleRun(first)).rejects.toThrow(/exited with 1/);
    await retry(store, first, 'w1');
    const second = await claim(store, 'w2');
    await engine.handleRun(second);

    const [a, b] = lines(out).map((l) => l.split(' '));
    expect(a?.[0]).toMatch(/^deckhand-[0-9a-f]{32}$/);
    expect(a).toEqual([a?.[0], '1']);
    expect(b).toEqual([a?.[0], '2']);
    // The second step ran once, in attempt 2, with a run id of its own.
    const [c] = lines(`${out}.second`).map((l) => l.split(' '));
    expect(lines(`${out}.second`)).toHaveLength(1);
    expect(c?.[1]).toBe('2');
    expect(c?.[0]).not.toBe(a?.[0]);
    expect(warnings.filter((w) => /re-run/.test(String(w.msg)))).toEqual([expect.objectContaining({ jobId: first.id, step: 0, kind: 'script', attempt: 2, previous: 'failed', runId: a?.[0] })]);
    expect(reruns).toEqual([['script', 'failed']]);
  });

  test('a step cut short (its run stopped, the job taken over) runs again with the same run id and is logged as interrupted', async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-runid-')), 'runs.log');
    const { engine, store, warnings, reruns } = await setup({ 's.yaml': scriptReaction(out, 'HOLD: "1"') });
    await engine.onEvent(released('5.0.0'));
    const first = await claim(store, 'w1');
    const stop = new AbortController();
    const cut = engine.handleRun(first, stop.signal);
    await until(() => lines(out).length === 1, 'the first run to start');
    // The first run ends without finishing its step (a shutdown here; a kill -9 leaves the same marks).
    stop.abort();
    await cut.catch(() => undefined);
    writeFileSync(`${out}.gate`, '');
    // Another worker takes the job over once the lease lapsed.
    const second = await claim(store, 'w2', new Date(Date.now() + LEASE_MS + 1000));
    expect(second.attempts).toBe(2);
    await engine.handleRun(second);

    const [a, b] = lines(out).map((l) => l.split(' '));
    expect(b).toEqual([a?.[0], '2']);
    expect(a?.[1]).toBe('1');
    // Step 0 finished once (in attempt 2), and only then step 1 ran, once.
    expect(lines(`${out}.done`)).toEqual(['done']);
    expect(lines(`${out}.second`).map((l) => l.split(' ')[1])).toEqual(['2']);
    expect(warnings.filter((w) => /re-run/.test(String(w.msg)))).toEqual([
      expect.objectContaining({ level: 40, jobId: first.id, step: 0, kind: 'script', attempt: 2, previousAttempt: 1, previous: 'interrupted', runId: a?.[0] }),
    ]);
    expect(String(warnings.find((w) => /re-run/.test(String(w.msg)))?.msg)).toMatch(/cut short/);
    expect(reruns).toEqual([['script', 'interrupted']]);
  }, 20_000);

  test('a first run is not logged as a re-run', async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-runid-')), 'runs.log');
    const { engine, store, warnings, reruns } = await setup({ 's.yaml': scriptReaction(out, 'X: "1"') });
    await engine.onEvent(released('6.0.0'));
    await engine.handleRun(await claim(store, 'w1'));
    expect(lines(out)).toHaveLength(1);
    expect(warnings).toEqual([]);
    expect(reruns).toEqual([]);
  });
});
