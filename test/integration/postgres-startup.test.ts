import { existsSync } from 'node:fs';
import path from 'node:path';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { type TestDatabase, createTestDatabase, postgresReachable, testPostgresUrl } from '../unit/store/pg-test-db.js';
import { freePort, startBot } from './bot-process.js';

/** The built bot (dist/src/main.js) with DATABASE_URL pointing at PostgreSQL. */

const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

async function exitOf(databaseUrl: string): Promise<{ code: number | null; stderr: string }> {
  const bot = await startBot({ env: { DATABASE_URL: databaseUrl } });
  const code = await bot.exited;
  return { code, stderr: bot.stderr() };
}

/** The test server's URL with another password or database. */
function variant(change: { password?: string; database?: string }): string {
  const url = new URL(testPostgresUrl);
  if (change.password !== undefined) url.password = change.password;
  if (change.database !== undefined) url.pathname = `/${change.database}`;
  return url.href;
}

describe('DATABASE_URL=postgres://… that cannot be used stops the bot naming DATABASE_URL, the host and why', () => {
  test('nothing listening on the port: ECONNREFUSED, exit 1, the password never shown', async () => {
    const port = await freePort();
    const { code, stderr } = await exitOf(`postgres://deckhand:Sup3r-Secret@127.0.0.1:${port}/deckhand`);
    expect(code).toBe(1);
    expect(stderr).toContain(`deckhand: Cannot connect to PostgreSQL at 127.0.0.1:${port}/deckhand (DATABASE_URL): connection refused (ECONNREFUSED).`);
    expect(stderr).not.toContain('Sup3r-Secret');
    noStack(stderr);
  });

  test('an sslmode Deckhand does not offer is refused before connecting', async () => {
    const { code, stderr } = await exitOf('postgresql://deckhand:Sup3r-Secret@127.0.0.1:1/deckhand?sslmode=prefer');
    expect(code).toBe(1);
    expect(stderr).toContain('deckhand: DATABASE_URL has sslmode=prefer, which Deckhand does not support: use one of disable, require, verify-ca, verify-full');
    expect(stderr).not.toContain('Sup3r-Secret');
  });
});

// Locally without PostgreSQL: skipped with a note. In CI: this throws, and the file fails.
const describePg = (await postgresReachable()) ? describe : describe.skip;

describePg('the bot on PostgreSQL (a real server)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('bot');
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('a wrong password: "password authentication failed", exit 1, the password never shown', async () => {
    const { code, stderr } = await exitOf(variant({ password: 'Wr0ng-Passw0rd' }));
    const { hostname, port, pathname, username } = new URL(testPostgresUrl);
    expect(code).toBe(1);
    expect(stderr).toContain(
      `deckhand: Cannot connect to PostgreSQL at ${hostname}:${port || '5432'}${pathname} (DATABASE_URL): password authentication failed for user "${decodeURIComponent(username)}". Check the user and password in DATABASE_URL.`,
    );
    expect(stderr).not.toContain('Wr0ng-Passw0rd');
    noStack(stderr);
  });

  test('a database that does not exist says so', async () => {
    const { code, stderr } = await exitOf(variant({ database: 'deckhand_no_such_db' }));
    expect(code).toBe(1);
    expect(stderr).toContain('(DATABASE_URL): database "deckhand_no_such_db" does not exist. Create it (createdb), or fix the database name in DATABASE_URL.');
    noStack(stderr);
  });

  test('starts, migrates, deploys and keeps its records in PostgreSQL; the start line hides the password', async () => {
    const bot = await startBot({ env: { DATABASE_URL: db.url } });
    await bot.waitFor('Deckhand on the terminal');
    const password = new URL(db.url).password;
    if (password) expect(bot.stdout()).not.toContain(`:${password}@`);
    expect(bot.stdout()).toContain(`store ${db.url.replace(`:${password}@`, password ? ':***@' : '@')}, HTTP`);
    bot.send('deploy hello to staging');
    await bot.waitFor(/#1 hello\/main to staging: succeeded/, 30_000);
    bot.child.stdin.end();
    expect(await bot.exited).toBe(0);

    const store = new PostgresStore(db.url);
    try {
      expect(await store.listDeployments()).toEqual([expect.objectContaining({ id: 1, app: 'hello', environment: 'staging', state: 'succeeded' })]);
      expect((await store.readLog(1)).length).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    expect(existsSync(path.join(bot.cwd, 'data', 'deckhand.db'))).toBe(false);
  });
});
