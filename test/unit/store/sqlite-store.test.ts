import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore, parseDatabaseUrl } from '../../../src/store/open-store.js';
import { migrations, runMigrations } from '../../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { NewDeployment } from '../../../src/core/model.js';
import { raceClaims } from './claim-race.js';
import { describeOwnershipContract } from './ownership-contract.js';
import { describeOperatorContract } from './operator-contract.js';
import { describeStoreContract, rejection } from './store-contract.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deckhand-store-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function migratedStore(path: string): Promise<SqliteStore> {
  const store = new SqliteStore(path);
  await store.migrate();
  return store;
}

const queued: NewDeployment = {
  app: 'web',
  environment: 'prod',
  ref: 'main',
  provider: 'script',
  source: 'chat',
  requestedBy: 'alice',
  createdAt: '2025-01-01T12:00:00.000Z',
};

describeStoreContract('SqliteStore :memory:', () => migratedStore(':memory:'));
describeStoreContract('SqliteStore file', () => migratedStore(join(tempDir(), 'deckhand.db')));
describeOperatorContract('SqliteStore :memory:', () => migratedStore(':memory:'));
describeOwnershipContract('SqliteStore :memory:', () => migratedStore(':memory:'));
describeOwnershipContract('SqliteStore file', () => migratedStore(join(tempDir(), 'deckhand.db')));

describe('SqliteStore on SQLite', () => {
  it('creates the parent directory of a file database', async () => {
    const path = join(tempDir(), 'nested', 'deeper', 'deckhand.db');
    const store = await migratedStore(path);
    await store.close();
    expect(existsSync(path)).toBe(true);
  });

  it('migrates idempotently and records each version once', async () => {
    const path = join(tempDir(), 'deckhand.db');
    const store = await migratedStore(path);
    await store.createDeployment(queued);
    await store.migrate();
    await store.migrate();
    await store.close();

    const db = new Database(path);
    expect(runMigrations(db)).toEqual([]);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    expect(versions).toEqual(migrations.map((m) => m.version));
    expect(db.prepare('SELECT COUNT(*) FROM deployments').pluck().get()).toBe(1);
    db.close();
  });

  it('applies only the migrations newer than the database', () => {
    const db = new Database(':memory:');
    const extra = { version: 1000, name: 'test table', sql: 'CREATE TABLE extra (x INTEGER)' };
    expect(runMigrations(db)).toEqual(migrations.map((m) => m.version));
    expect(runMigrations(db, [...migrations, extra])).toEqual([1000]);
    expect(runMigrations(db, [...migrations, extra])).toEqual([]);
    db.close();
  });

  it('rolls back a failing migration entirely', () => {
    const db = new Database(':memory:');
    const broken = { version: 1000, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM missing;' };
    expect(() => runMigrations(db, [...migrations, broken])).toThrow(/missing/);
    expect(db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).pluck().get()).toBe(0);
    expect(db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBe(migrations.length);
    db.close();
  });

  it('migration 9 revokes the tokens made before it (they carried every scope)', () => {
    const db = new Database(':memory:');
    runMigrations(db, migrations.filter((m) => m.version < 9));
    db.prepare(`INSERT INTO api_tokens (hash, actor, scopes, created_at, expires_at) VALUES ('old', 'reaction:x', '["deploy","release","message","read"]', '2025-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z')`).run();
    expect(runMigrations(db)).toContain(9);
    expect(db.prepare('SELECT COUNT(*) FROM api_tokens').pluck().get()).toBe(0);
    db.close();
  });

  it('migration 10: a deployment an older Deckhand left running has no owner, so recovery takes it over', async () => {
    const path = join(tempDir(), 'deckhand.db');
    const db = new Database(path);
    runMigrations(db, migrations.filter((m) => m.version < 10));
    db.prepare(`INSERT INTO deployments (app, environment, ref, state, provider, source, requested_by, created_at, started_at)
      VALUES ('web', 'prod', 'main', 'running', 'script', 'chat', 'alice', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:01.000Z')`).run();
    db.close();
    const store = await migratedStore(path);
    const orphans = await store.listOrphanedDeployments('2025-01-01T00:00:02.000Z');
    expect(orphans.map((o) => [o.deployment.state, o.run])).toEqual([['running', { owner: null, deadline: null, process: null, heldUntil: null }]]);
    await store.close();
  });

  it('forgets instances stopped more than a day before another one registers', async () => {
    const store = await migratedStore(':memory:');
    const instance = (id: string, startedAt: string) => ({ id, host: 'box', pidScope: null, pid: 1, startedAt, expiresAt: startedAt });
    await store.registerInstance(instance('old', '2025-01-01T00:00:00.000Z'));
    await store.stopInstance('old', '2025-01-01T00:00:01.000Z');
    await store.registerInstance(instance('recent', '2025-01-01T00:00:00.000Z'));
    await store.stopInstance('recent', '2025-01-01T00:00:03.000Z');
    await store.registerInstance(instance('new', '2025-01-02T00:00:02.000Z'));
    const ids = (store as unknown as { db: Database.Database }).db.prepare('SELECT id FROM instances ORDER BY id').pluck().all();
    expect(ids).toEqual(['new', 'recent']);
    await store.close();
  });

  it('keeps data across close and reopen of a file database', async () => {
    const path = join(tempDir(), 'deckhand.db');
    const first = await migratedStore(path);
    const created = await first.createDeployment(queued);
    await first.acquireLock({ environment: 'prod', app: null, holder: 'alice', reason: null, since: queued.createdAt });
    await first.close();

    const second = await migratedStore(path);
    expect(await second.getDeployment(created.id)).toEqual(created);
    expect(await second.listLocks()).toHaveLength(1);
    await second.close();
  });

  it('uses WAL journaling for file databases', async () => {
    const path = join(tempDir(), 'deckhand.db');
    const store = await migratedStore(path);
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await store.close();
  });

  it('close is safe to call twice', async () => {
    const store = await migratedStore(':memory:');
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
  });

  describe('the one-running-deployment-per-target index', () => {
    const insert = (db: Database.Database, app: string, environment: string, state: string) =>
      db
        .prepare(
          `INSERT INTO deployments (app, environment, ref, state, provider, source, requested_by, created_at)
           VALUES (?, ?, 'main', ?, 'script', 'chat', 'alice', '2025-01-01T00:00:00.000Z')`,
        )
        .run(app, environment, state);

    it('rejects a second running row for a target, even written with raw SQL', () => {
      const db = new Database(':memory:');
      runMigrations(db);
      insert(db, 'web', 'prod', 'running');
      expect(() => insert(db, 'web', 'prod', 'running')).toThrow(expect.objectContaining({ code: 'SQLITE_CONSTRAINT_UNIQUE' }));
      const { lastInsertRowid } = insert(db, 'web', 'prod', 'queued');
      expect(() => db.prepare(`UPDATE deployments SET state = 'running' WHERE id = ?`).run(lastInsertRowid)).toThrow(
        expect.objectContaining({ code: 'SQLITE_CONSTRAINT_UNIQUE' }),
      );
      db.close();
    });

    it('counts a finished deployment that holds its target like a running one, even with raw SQL', () => {
      const db = new Database(':memory:');
      runMigrations(db);
      const held = insert(db, 'web', 'prod', 'failed').lastInsertRowid;
      db.prepare(`UPDATE deployments SET held_until = '2999-01-01T00:00:00.000Z' WHERE id = ?`).run(held);
      expect(() => insert(db, 'web', 'prod', 'running')).toThrow(expect.objectContaining({ code: 'SQLITE_CONSTRAINT_UNIQUE' }));
      const { lastInsertRowid } = insert(db, 'web', 'prod', 'queued');
      expect(() => db.prepare(`UPDATE deployments SET state = 'running' WHERE id = ?`).run(lastInsertRowid)).toThrow(expect.objectContaining({ code: 'SQLITE_CONSTRAINT_UNIQUE' }));
      // Released, the target takes its next deployment.
      db.prepare('UPDATE deployments SET held_until = NULL WHERE id = ?').run(held);
      expect(db.prepare(`UPDATE deployments SET state = 'running' WHERE id = ?`).run(lastInsertRowid).changes).toBe(1);
      db.close();
    });

    it('allows running rows for other targets and any number of other states', () => {
      const db = new Database(':memory:');
      runMigrations(db);
      insert(db, 'web', 'prod', 'running');
      insert(db, 'web', 'staging', 'running');
      insert(db, 'api', 'prod', 'running');
      for (const state of ['queued', 'queued', 'succeeded', 'succeeded', 'failed', 'cancelled']) {
        insert(db, 'web', 'prod', state);
      }
      expect(db.prepare('SELECT COUNT(*) FROM deployments').pluck().get()).toBe(9);
      db.close();
    });
  });

  describe('two stores on one file', () => {
    it('never both claim a deployment of the same target (same process, interleaved)', async () => {
      const path = join(tempDir(), 'deckhand.db');
      const [a, b] = [await migratedStore(path), await migratedStore(path)];
      for (let i = 0; i < 4; i++) await a.createDeployment(queued);

      const claims = await Promise.all([
        a.claimNextDeployment('web', 'prod', queued.createdAt),
        b.claimNextDeployment('web', 'prod', queued.createdAt),
      ]);
      expect(claims.filter((claim) => claim !== null)).toHaveLength(1);

      const winner = claims[0] ?? claims[1]!;
      await (claims[0] ? b : a).finishDeployment(winner.id, { state: 'succeeded', finishedAt: queued.createdAt });
      expect(await b.claimNextDeployment('web', 'prod', queued.createdAt)).toMatchObject({ id: winner.id + 1 });
      expect(await a.claimNextDeployment('web', 'prod', queued.createdAt)).toBeNull();
      await a.close();
      await b.close();
    });

    it('never both claim a deployment of the same target (separate processes)', async () => {
      const dir = tempDir();
      const path = join(dir, 'deckhand.db');
      const seed = await migratedStore(path);
      const ids: number[] = [];
      for (let i = 0; i < 40; i++) ids.push((await seed.createDeployment(queued)).id);

      const results = await raceClaims(dir, path, 4);

      expect(results.map((result) => result.error)).toEqual([undefined, undefined, undefined, undefined]);
      const claimed = results.flatMap((result) => result.claimed);
      expect([...claimed].sort((x, y) => x - y)).toEqual(ids); // each exactly once, none lost
      // Claims come in queue order within each process, whichever process won each one.
      for (const result of results) expect(result.claimed).toEqual([...result.claimed].sort((x, y) => x - y));
      expect(await seed.listDeployments({ states: ['succeeded'], limit: 100 })).toHaveLength(40);
      await seed.close();
    });
  });
});

describe('openStore', () => {
  it('opens sqlite::memory: and migrates it', async () => {
    const store = await openStore('sqlite::memory:');
    await expect(store.createDeployment(queued)).resolves.toMatchObject({ state: 'queued' });
    await store.close();
  });

  it('resolves a relative sqlite: path against cwd and creates its directory', async () => {
    const cwd = tempDir();
    const store = await openStore('sqlite:./data/deckhand.db', { cwd });
    await store.ping();
    await store.close();
    expect(existsSync(join(cwd, 'data', 'deckhand.db'))).toBe(true);
  });

  it('opens an absolute sqlite: path', async () => {
    const path = join(tempDir(), 'abs.db');
    const store = await openStore(`sqlite:${path}`, { cwd: '/nonexistent' });
    await store.close();
    expect(existsSync(path)).toBe(true);
  });

  it('parses the accepted forms', () => {
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
    expect(parseDatabaseUrl('sqlite:./data/deckhand.db', '/srv/deckhand')).toEqual({
      kind: 'sqlite',
      path: '/srv/deckhand/data/deckhand.db',
    });
    expect(parseDatabaseUrl('sqlite:data.db', '/srv')).toEqual({ kind: 'sqlite', path: '/srv/data.db' });
    expect(parseDatabaseUrl('sqlite:/var/lib/deckhand.db', '/srv')).toEqual({ kind: 'sqlite', path: '/var/lib/deckhand.db' });
    expect(parseDatabaseUrl('sqlite:///var/lib/deckhand.db', '/srv')).toEqual({ kind: 'sqlite', path: '/var/lib/deckhand.db' });
    expect(parseDatabaseUrl('  sqlite::memory:  ')).toEqual({ kind: 'sqlite', path: ':memory:' });
  });

  // Opening them is tested with a PostgreSQL server: postgres-store.test.ts, test/integration/postgres-*.test.ts.
  it.each(['postgres://deckhand:s3cret@db/deckhand', 'postgresql://db/deckhand'])('takes %s for PostgreSQL', (url) => {
    expect(parseDatabaseUrl(url)).toEqual({ kind: 'postgres', url });
  });

  it.each(['mysql://root:s3cret@db/deckhand', 'deckhand.db', '', 'sqlite:', 'sqlite://host/deckhand.db'])(
    'rejects %j naming DATABASE_URL and the accepted forms',
    async (url) => {
      const err = await rejection(openStore(url), 'E_CONFIG_INVALID');
      expect(err.message).toContain('DATABASE_URL');
      expect(err.message).toContain('sqlite::memory:');
      expect(err.message).not.toContain('s3cret');
    },
  );

  it('reports a file that is not a database as E_CONFIG_INVALID', async () => {
    const path = join(tempDir(), 'not-a.db');
    writeFileSync(path, 'this is not an SQLite database, just some text that is long enough '.repeat(10));
    const err = await rejection(openStore(`sqlite:${path}`), 'E_CONFIG_INVALID');
    expect(err.message).toContain(path);
  });
});
