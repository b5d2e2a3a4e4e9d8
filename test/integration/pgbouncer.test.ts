import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ErrorCode } from '../../src/core/errors.js';
import type { Db } from '../../src/store/postgres/db.js';
import { openPostgresStore } from '../../src/store/postgres/open.js';
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createTestDatabase, postgresReachable, testPostgresUrl, type TestDatabase } from '../unit/store/pg-test-db.js';
import { freePort } from './bot-process.js';

/**
 * Deckhand behind a real PgBouncer (Debian's pgbouncer package). Session mode works: migrations,
 * the time limits (SET per connection: PgBouncer refuses them as startup parameters) and the job
 * wake-ups (LISTEN). Transaction mode is refused at start with a message naming DATABASE_URL,
 * before anything is migrated. Skipped with a note where pgbouncer is not installed.
 */

const installed = spawnSync('pgbouncer', ['--version']).status === 0;
// CI installs it (.ci/postgres): there a missing pgbouncer is a broken setup, not a reason to skip.
if (!installed && process.env.CI === 'true') throw new Error('pgbouncer is not installed, and CI=true: .ci/postgres should have installed it');
if (!installed) console.warn('pgbouncer is not installed (apt-get install -y pgbouncer): skipping the PgBouncer tests.');
const describeIt = installed && (await postgresReachable()) ? describe : describe.skip;

interface Bouncer {
  url(database: string): string;
  stop(): Promise<void>;
}

/** A PgBouncer in front of the test PostgreSQL, in its own directory; as the postgres user when run as root (it refuses root). */
async function pgbouncer(mode: 'session' | 'transaction', poolSize = 30): Promise<Bouncer> {
  const server = new URL(testPostgresUrl);
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const dir = mkdtempSync(path.join(os.tmpdir(), `deckhand-pgbouncer-${mode}-`));
  const port = await freePort();
  writeFileSync(path.join(dir, 'users.txt'), `"${user}" "${password}"\n`);
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    `[databases]
* = host=${server.hostname} port=${server.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = plain
auth_file = ${path.join(dir, 'users.txt')}
pool_mode = ${mode}
default_pool_size = ${poolSize}
max_client_conn = 200
`,
  );
  const root = process.getuid?.() === 0;
  if (root) {
    const pgUid = Number(spawnSync('id', ['-u', 'postgres']).stdout.toString().trim());
    for (const file of ['', 'users.txt', 'pgbouncer.ini']) chownSync(path.join(dir, file), pgUid, -1);
  }
  const child: ChildProcess = root ? spawn('runuser', ['-u', 'postgres', '--', 'pgbouncer', path.join(dir, 'pgbouncer.ini')]) : spawn('pgbouncer', [path.join(dir, 'pgbouncer.ini')]);
  let log = '';
  child.stderr?.on('data', (chunk) => (log += String(chunk)));
  child.stdout?.on('data', (chunk) => (log += String(chunk)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready once it accepts a login.
  for (let attempt = 0; ; attempt++) {
    const probe = new pg.Client({ host: '127.0.0.1', port, user, password, database: server.pathname.slice(1) });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.end();
      break;
    } catch (err) {
      await probe.end().catch(() => {});
      if (attempt > 50 || child.exitCode !== null) throw new Error(`pgbouncer did not start: ${(err as Error).message}\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: (database) => {
      const url = new URL(testPostgresUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      url.pathname = `/${database}`;
      return url.href;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeIt('Deckhand behind PgBouncer', () => {
  let bouncer: Bouncer | undefined;
  let db: TestDatabase | undefined;
  let store: PostgresStore | undefined;
  afterEach(async () => {
    await store?.close();
    await bouncer?.stop();
    await db?.drop();
    store = bouncer = db = undefined;
  });

  test('session mode: starts and migrates, each connection gets its time limits, a NOTIFY wakes the workers', async () => {
    db = await createTestDatabase('pgbouncer');
    bouncer = await pgbouncer('session');
    const url = new URL(bouncer.url(db.name));
    url.searchParams.set('statement_timeout', '700ms');
    store = await openPostgresStore(url.href);
    await expect(store.ping()).resolves.toBeUndefined();
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    try {
      const version = await direct.query<{ version: number }>('SELECT max(version) AS version FROM schema_migrations');
      expect(version.rows[0]?.version).toBeGreaterThanOrEqual(12);
      // A job wake-up sent on the server reaches the store's LISTEN session through PgBouncer.
      let woken = 0;
      const wakes = new Promise<void>((resolve) => store!.onJobsAvailable(() => ++woken >= 2 && resolve())); // once on connect, once for the NOTIFY
      for (let i = 0; woken < 1 && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
      await direct.query('NOTIFY deckhand_jobs');
      await wakes;
    } finally {
      await direct.end();
    }
    // The store's sessions run with the limit (the store has no raw queries: its statements module, for the test).
    const sql = (store as unknown as { db: Db }).db;
    expect(await sql.row('SHOW statement_timeout')).toEqual({ statement_timeout: '700ms' });
    await expect(sql.run('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable, details: { code: '57014' } });
    expect(await store.listDeployments({ limit: 1 })).toEqual([]);
  });

  test('a session-mode pool with one server connection: refused at start (each Deckhand connection keeps a session), rather than requests waiting', async () => {
    db = await createTestDatabase('pgbouncer');
    bouncer = await pgbouncer('session', 1);
    await expect(openPostgresStore(bouncer.url(db.name))).rejects.toMatchObject({
      code: ErrorCode.ConfigInvalid,
      message: expect.stringMatching(/^DATABASE_URL \(127\.0\.0\.1:\d+\/deckhand_t_pgbouncer_\w+\): a second connection had to wait for the first one's server session.*default_pool_size/),
    });
  }, 60_000);

  test('transaction mode: refused at start, naming DATABASE_URL and what to do, with nothing migrated', async () => {
    db = await createTestDatabase('pgbouncer');
    bouncer = await pgbouncer('transaction');
    const opening = openPostgresStore(bouncer.url(db.name));
    await expect(opening).rejects.toMatchObject({
      code: ErrorCode.ConfigInvalid,
      message: expect.stringMatching(/^DATABASE_URL \(127\.0\.0\.1:\d+\/deckhand_t_pgbouncer_\w+\) reaches PostgreSQL through a pooler in transaction mode \(PgBouncer pool_mode = transaction\).*pool_mode = session/),
    });
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    try {
      expect((await direct.query(`SELECT to_regclass('schema_migrations') AS t`)).rows[0]?.t).toBeNull();
    } finally {
      await direct.end();
    }
  });
});
