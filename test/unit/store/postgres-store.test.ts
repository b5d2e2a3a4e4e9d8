import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { NewDeployment } from '../../../src/core/model.js';
import { lockSpace, typeParsers, wholeSpaceKey } from '../../../src/store/postgres/db.js';
import { claimJobSql } from '../../../src/store/postgres/jobs.js';
import { migrations, runMigrations } from '../../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { describeDatabaseUrl, parseDatabaseUrl } from '../../../src/store/open-store.js';
import { raceClaims } from './claim-race.js';
import { type TestDatabase, createTestDatabase, freshStore, postgresReachable } from './pg-test-db.js';
import { describeOwnershipContract } from './ownership-contract.js';
import { describeOperatorContract } from './operator-contract.js';
import { describeStoreContract, rejection } from './store-contract.js';

// Locally without PostgreSQL: skipped with a note. In CI: this throws, and the file fails.
const describePg = (await postgresReachable()) ? describe : describe.skip;

const at = (minutes: number): string => new Date(Date.UTC(2025, 0, 1, 12, minutes)).toISOString();
const queued: NewDeployment = { app: 'web', environment: 'prod', ref: 'main', provider: 'script', source: 'chat', requestedBy: 'alice', createdAt: at(0) };

describe('DATABASE_URL for PostgreSQL, without a server', () => {
  it('takes postgres:// and postgresql:// for PostgreSQL', () => {
    expect(parseDatabaseUrl(' postgresql://u:p@db/deckhand ')).toEqual({ kind: 'postgres', url: 'postgresql://u:p@db/deckhand' });
  });

  it('is shown with its password (in the user part or a parameter) as ***, and SQLite paths as they are', () => {
    expect(describeDatabaseUrl('postgres://deckhand:s3cr%40t@db:5432/deckhand?sslmode=require')).toBe('postgres://deckhand:***@db:5432/deckhand?sslmode=require');
    expect(describeDatabaseUrl('postgresql://deckhand@db/deckhand?password=s3cret')).toBe('postgresql://deckhand@db/deckhand?password=***');
    expect(describeDatabaseUrl('postgres://deckhand:s3cret@[bad')).not.toContain('s3cret');
    expect(describeDatabaseUrl('sqlite:./data/deckhand.db')).toBe('sqlite:./data/deckhand.db');
  });
});

describePg('PostgresStore (PostgreSQL, a database of its own)', () => {
  let db: TestDatabase;
  const stores: PostgresStore[] = [];
  /** A fresh store for one test; closed after it. */
  async function store(): Promise<PostgresStore> {
    const opened = stores.length === 0 ? await freshStore(db) : new PostgresStore(db.url);
    stores.push(opened);
    return opened;
  }

  beforeAll(async () => {
    db = await createTestDatabase('store');
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  describeStoreContract('PostgresStore', () => freshStore(db));
  describeOwnershipContract('PostgresStore', () => freshStore(db));
  describeOperatorContract('PostgresStore', () => freshStore(db));

  describe('migrations', () => {
    /** A pool like the store's, for running migrations by hand. */
    const poolOn = (url: string) => new pg.Pool({ connectionString: url, types: typeParsers, max: 2 });

    it('apply once, record each version, and wait for another process holding the migration lock', async () => {
      const other = await createTestDatabase('migrate');
      const holder = new pg.Client({ connectionString: other.url });
      const pool = poolOn(other.url);
      try {
        await holder.connect();
        await holder.query('SELECT pg_advisory_lock($1)', [wholeSpaceKey(lockSpace.migrations)]);
        const stores = Array.from({ length: 3 }, () => new PostgresStore(other.url));
        let done = 0;
        const migrating = Promise.all(stores.map((s) => s.migrate().then(() => done++)));
        await new Promise((r) => setTimeout(r, 300));
        expect(done).toBe(0); // all three wait for the lock
        await holder.query('SELECT pg_advisory_unlock($1)', [wholeSpaceKey(lockSpace.migrations)]);
        await migrating;
        await Promise.all(stores.map((s) => s.close()));
        const versions = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
        expect(versions.rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
        expect(await runMigrations(pool)).toEqual([]);
      } finally {
        await holder.end();
        await pool.end();
        await other.drop();
      }
    });

    it('roll a failing migration back entirely', async () => {
      const pool = poolOn(db.url);
      try {
        await runMigrations(pool);
        const broken = { version: 1000, name: 'broken', sql: 'CREATE TABLE half (x integer); SELECT * FROM missing;' };
        await expect(runMigrations(pool, [...migrations, broken])).rejects.toThrow(/missing/);
        expect((await pool.query(`SELECT to_regclass('half') AS t`)).rows[0].t).toBeNull();
        expect((await pool.query('SELECT MAX(version) AS v FROM schema_migrations')).rows[0].v).toBe(migrations.at(-1)!.version);
        // The lock was released: migrating again does not wait.
        expect(await runMigrations(pool)).toEqual([]);
      } finally {
        await pool.end();
      }
    });
  });

  describe('claims under real concurrency (every store has its own connections)', () => {
    it('gives each job to exactly one of several workers, none lost', async () => {
      const seed = await store();
      const ids: number[] = [];
      for (let i = 0; i < 60; i++) ids.push((await seed.enqueueJob({ type: 'x', payload: { i }, runAt: at(0) }))!.id);
      const workers = await Promise.all(Array.from({ length: 4 }, () => store()));
      const claimed = await Promise.all(
        workers.map(async (s, w) => {
          const mine: number[] = [];
          for (let job = await s.claimJob(`w${w}`, at(1), 60_000); job; job = await s.claimJob(`w${w}`, at(1), 60_000)) mine.push(job.id);
          return mine;
        }),
      );
      expect(claimed.flat().sort((a, b) => a - b)).toEqual(ids);
    });

    it('the claim is a range scan of the jobs_due index, not a scan of every job', async () => {
      const s = await store();
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query(`INSERT INTO jobs (type, payload, state, run_at, created_at, finished_at)
          SELECT 'old', '{}', 'done', now() - interval '1 day', now(), now() FROM generate_series(1, 20000)`);
        await s.enqueueJob({ type: 'x', payload: {}, runAt: at(0) });
        await client.query('ANALYZE jobs');
        const plan = JSON.stringify((await client.query(`EXPLAIN (FORMAT JSON) ${claimJobSql}`, ['w', at(1), at(2)])).rows);
        expect(plan).toContain('"Index Name":"jobs_due"');
        expect(plan).not.toContain('Seq Scan');
      } finally {
        await client.end();
      }
    });

    it('two processes racing for one target never both get a deployment (4 processes, 40 deployments)', async () => {
      const seed = await store();
      const ids: number[] = [];
      for (let i = 0; i < 40; i++) ids.push((await seed.createDeployment(queued)).id);
      const dir = mkdtempSync(join(tmpdir(), 'deckhand-pg-race-'));
      try {
        const results = await raceClaims(dir, db.url, 4, { module: 'src/store/postgres/postgres-store.ts', exportName: 'PostgresStore' });
        expect(results.map((r) => r.error)).toEqual([undefined, undefined, undefined, undefined]);
        expect(results.flatMap((r) => r.claimed).sort((a, b) => a - b)).toEqual(ids);
        for (const result of results) expect(result.claimed).toEqual([...result.claimed].sort((a, b) => a - b));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    /** Stores with their connections already open, so racing calls really overlap. */
    async function warmStores(count: number): Promise<PostgresStore[]> {
      const opened = await Promise.all(Array.from({ length: count }, () => store()));
      await Promise.all(opened.map((s) => Promise.all([s.ping(), s.ping()])));
      return opened;
    }

    it('a free lock taken by two people at once goes to one; the other hears E_LOCK_HELD (20 rounds)', async () => {
      const [a, b] = await warmStores(2);
      for (let round = 0; round < 20; round++) {
        const results = await Promise.allSettled(
          [a!, b!].map((s, i) => s.acquireLock({ environment: `env${round}`, app: null, holder: i === 0 ? 'alice' : 'bob', reason: null, since: at(0) })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'E_LOCK_HELD' });
      }
    });

    it('racing creators of one release, and racing triggers of one incident, each have one winner (10 rounds)', async () => {
      const racers = await warmStores(4);
      for (let round = 0; round < 10; round++) {
        const releases = await Promise.allSettled(racers.map((s) => s.createRelease({ app: 'web', version: `1.0.${round}`, createdBy: 'x', createdAt: at(0) })));
        expect(releases.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of releases) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'E_RELEASE_EXISTS' });
        const triggers = await Promise.all(racers.map((s) => s.recordIncident({ entityId: `disk${round}`, phase: 'triggered', at: at(1) })));
        expect(triggers.filter((t) => t.changed)).toHaveLength(1);
      }
    });

    it('events appended concurrently become visible in id order: a reader resuming by afterId misses none', async () => {
      const [reader, ...writers] = await warmStores(5);
      let writing = true;
      const seen: number[] = [];
      const reading = (async () => {
        for (let more = true; more; ) {
          more = writing;
          const page = await reader!.listEvents({ afterId: seen.at(-1) ?? 0, limit: 1000 });
          seen.push(...page.map((e) => e.id));
        }
      })();
      const appended = await Promise.all(writers.map(async (s, w) => {
        const ids: number[] = [];
        for (let i = 0; i < 50; i++) ids.push((await s.appendEvent({ type: 'e', at: at(0), data: { w, i } })).id);
        return ids;
      }));
      writing = false;
      await reading;
      expect(seen).toEqual(appended.flat().sort((x, y) => x - y));
    });
  });

  describe('what PostgreSQL stores differently', () => {
    it('its one-running-deployment-per-target index rejects a second running row, even written with raw SQL', async () => {
      await store();
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const insert = (environment: string, state: string) =>
        client.query(`INSERT INTO deployments (app, environment, ref, state, provider, source, requested_by, created_at, log_token) VALUES ('web', $1, 'main', $2, 'script', 'chat', 'alice', now(), 't')`, [environment, state]);
      try {
        await insert('prod', 'running');
        await expect(insert('prod', 'running')).rejects.toMatchObject({ code: '23505', constraint: 'deployments_one_running' });
        await insert('staging', 'running');
        await insert('prod', 'queued');
      } finally {
        await client.end();
      }
    });

    it('keeps a line with a NUL character (as U+FFFD: PostgreSQL text cannot hold NUL), and NUL inside JSON exactly', async () => {
      const s = await store();
      const d = await s.createDeployment(queued);
      await s.appendLog(d.id, [{ seq: 1, stream: 'stdout', line: 'a\u0000b', at: at(1) }]);
      expect((await s.readLog(d.id))[0]?.line).toBe('a\uFFFDb');
      const event = await s.appendEvent({ type: 'x', at: at(0), data: { text: 'a\u0000b' } });
      expect((await s.listEvents({ type: 'x' }))[0]).toEqual(event);
      expect(event.data).toEqual({ text: 'a\u0000b' });
    });

    it('compares timestamps as times and gives them back exactly as written', async () => {
      const s = await store();
      await s.createApiToken({ hash: 'h', actor: 'a', scopes: ['read'], createdAt: '2025-01-01T12:00:00.123Z', expiresAt: '2025-01-01T12:00:00.124Z', run: null });
      expect(await s.findApiToken('h', '2025-01-01T12:00:00.123Z')).toMatchObject({ createdAt: '2025-01-01T12:00:00.123Z', expiresAt: '2025-01-01T12:00:00.124Z' });
      expect(await s.findApiToken('h', '2025-01-01T12:00:00.124Z')).toBeNull();
    });

    it('rejects a rollback of a missing deployment as E_NOT_FOUND and a second twin as E_CONFLICT (foreign key, unique index)', async () => {
      const s = await store();
      await rejection(s.createDeployment({ ...queued, rollbackOf: 424242 }), 'E_NOT_FOUND');
      await s.createDeployment({ ...queued, external: { system: 'github', id: '1' } });
      const err = await rejection(s.createDeployment({ ...queued, external: { system: 'github', id: '1' } }), 'E_CONFLICT');
      expect(err.message).toBe('github deployment 1 is already linked to another deployment.');
    });
  });
});
