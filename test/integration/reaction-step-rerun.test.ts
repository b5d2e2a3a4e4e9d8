import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createDeckhand, projectRoot, type Deckhand } from '../../src/app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Job } from '../../src/core/model.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startFakeOctopus, type FakeOctopus } from '../fakes/octopus/fake-octopus.js';

/**
 * A reaction step runs again when its process was killed after the step did its work and before
 * the step was marked done (DECKHAND_RUN_ID stays the same). The state such a kill leaves is made
 * here exactly — the real engine, actions and SQLite store run the step; then the marks the killed
 * process never wrote are taken out of the database (and, for the kill between Octopus creating a
 * release and Deckhand recording it, the release row too); then the job's next attempt runs. The
 * re-run must find what the first run made: one deployment, one release, in Deckhand and in Octopus.
 */
describe('a re-run of a reaction step after a kill -9 makes nothing twice', () => {
  let octopus: FakeOctopus;
  let deckhand: Deckhand;
  let store: SqliteStore;
  let dbFile: string;
  let now = Date.now();

  beforeAll(async () => {
    octopus = await startFakeOctopus();
    const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-rerun-'));
    const reactions = path.join(root, 'reactions');
    mkdirSync(reactions);
    writeFileSync(path.join(reactions, 'ship.yaml'), 'on: { webhook: ship, auth: { api_key: "${secret.KEY}" } }\ndo:\n  - deploy: { app: hello, ref: "{{ payload.ref }}", environment: staging }\n');
    writeFileSync(path.join(reactions, 'release.yaml'), 'on: { webhook: release, auth: { api_key: "${secret.KEY}" } }\ndo:\n  - create_release: { app: web, version: "{{ payload.version }}", notes: "from the feed" }\n');
    const config = parseConfig(
      `
environments: { staging: {} }
apps:
  hello: { provider: { script: scripts/hello-deploy.sh }, environments: [staging] }
  web: { provider: { octopus: { project: "Core Web", poll: 20ms } }, environments: [staging] }
roles: {}
`,
      path.join(projectRoot, 'deckhand.rerun-test.yaml'),
      {},
    );
    dbFile = path.join(root, 'deckhand.db');
    store = new SqliteStore(dbFile);
    await store.migrate();
    deckhand = await createDeckhand({
      config,
      store,
      logger: silentLogger,
      dataDir: root,
      commandsDir: path.join(projectRoot, 'commands'),
      reactions: loadReactions(reactions, { KEY: 'rerun-test-key-0123456789' }).reactions,
      reactionsBaseDir: root,
      octopus: { url: octopus.url, apiKey: octopus.apiKey, space: 'Spaces-1', webhookHeader: 'X-Deckhand-Secret' },
    });
    // No worker: the test runs each attempt of the job itself.
  });
  afterAll(async () => {
    await deckhand?.close();
    await octopus?.close();
  });

  /** The job of one matched reaction, as the engine enqueues it. */
  async function reactionJob(reaction: string, payload: Record<string, unknown>): Promise<Job> {
    const job = await store.enqueueJob({ type: 'reaction', key: `test:${reaction}:${now}`, payload: { reaction, context: { payload }, nonce: `nonce-${now}` }, runAt: new Date(now).toISOString() });
    return job!;
  }

  /** Claims the job as a worker would (each claim counts an attempt; a lease of 1 s). */
  async function attempt(job: Job): Promise<Job> {
    now += 5_000; // past the last attempt's lease
    const claimed = await store.claimJob('worker', new Date(now).toISOString(), 1_000);
    expect(claimed?.id).toBe(job.id);
    return claimed!;
  }

  /** What the killed process never wrote: the step's done mark (and `also`, rows it had not written yet). */
  function killedBeforeMarking(job: Job, ...also: Array<[string, unknown[]]>): void {
    const db = new Database(dbFile);
    try {
      db.prepare("DELETE FROM seen_keys WHERE scope = 'reaction-step' AND key = ?").run(`${job.id}:0`);
      for (const [sql, params] of also) db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  }

  const events = async (type: string) => (await store.listEvents({ type, limit: 1000 })).length;

  test('deploy: the re-run finds the deployment the first run queued; one deployment, one deployment.queued', async () => {
    const job = await reactionJob('ship', { ref: 'v7' });
    await deckhand.reactions.handleRun(await attempt(job));
    const [made] = await store.listDeployments({ app: 'hello' });
    expect(made).toMatchObject({ ref: 'v7', source: 'reaction', requestedBy: 'reaction:ship' });
    const queued = await events('deployment.queued');

    killedBeforeMarking(job);
    const second = await attempt(job);
    expect(second.attempts).toBe(2);
    await deckhand.reactions.handleRun(second);
    expect(await store.listDeployments({ app: 'hello' })).toEqual([expect.objectContaining({ id: made!.id })]);
    expect(await events('deployment.queued')).toBe(queued);
    expect(await store.isSeen('reaction-step', `${job.id}:0`)).toBe(true);
    await store.completeJob(job.id, 'worker', new Date(now).toISOString());
    await deckhand.runner.idle();
  });

  test('create_release on Octopus, killed after Octopus made the release and before Deckhand recorded it: the re-run finds it in Octopus; one release there and here', async () => {
    const job = await reactionJob('release', { version: '4.2.0' });
    const before = await events('release.created');
    await deckhand.reactions.handleRun(await attempt(job));
    expect(octopus.callsTo('POST', /\/releases$/)).toHaveLength(1);
    const first = await store.getRelease('web', '4.2.0');
    expect(first).toMatchObject({ createdBy: 'reaction:release', notes: 'from the feed' });
    expect(await events('release.created')).toBe(before + 1);

    // The kill came between Octopus's answer and Deckhand's record: the release row, its audit record
    // and event (written after it) and the step's mark do not exist.
    killedBeforeMarking(
      job,
      ['DELETE FROM releases WHERE id = ?', [first!.id]],
      ["DELETE FROM events WHERE type = 'release.created' AND json_extract(data, '$.release.id') = ?", [first!.id]],
      ["DELETE FROM audit_log WHERE action = 'release.create' AND json_extract(details, '$.releaseId') = ?", [first!.id]],
    );
    expect(await events('release.created')).toBe(before);
    await deckhand.reactions.handleRun(await attempt(job));
    expect(octopus.callsTo('POST', /\/releases$/)).toHaveLength(1);
    expect(octopus.releases().filter((r) => r.Version === '4.2.0')).toHaveLength(1);
    expect(octopus.callsTo('GET', /\/projects\/Projects-1\/releases\/4\.2\.0$/).length).toBeGreaterThan(0);
    expect(await store.getRelease('web', '4.2.0')).toMatchObject({ createdBy: 'reaction:release', notes: 'from the feed' });
    expect(await events('release.created')).toBe(before + 1);
    expect((await store.listAudit({ action: 'release.create', limit: 10 }))[0]?.details).toMatchObject({ foundInProvider: true });

    // Killed after the record, before the mark: the re-run answers the recorded release; Octopus is not asked to create it.
    killedBeforeMarking(job);
    await deckhand.reactions.handleRun(await attempt(job));
    expect(octopus.callsTo('POST', /\/releases$/)).toHaveLength(1);
    expect(await store.listReleases('web')).toHaveLength(1);
    expect(await events('release.created')).toBe(before + 1);
    await store.completeJob(job.id, 'worker', new Date(now).toISOString());
  });
});
