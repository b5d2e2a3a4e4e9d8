import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';

/**
 * The PostgreSQL the tests use: DECKHAND_TEST_POSTGRES_URL, a role that may create databases
 * (.ci/run makes one). Each test file works in a database of its own, so the two jest workers
 * never see each other's rows, and LISTEN/NOTIFY (database-wide) never crosses files.
 */
export const testPostgresUrl = process.env.DECKHAND_TEST_POSTGRES_URL ?? 'postgres://deckhand:deckhand@127.0.0.1:5432/deckhand_test';

/** The test URL without its password, for messages. */
export function shownTestUrl(): string {
  const url = new URL(testPostgresUrl);
  if (url.password) url.password = '***';
  return url.href;
}

/**
 * Whether PostgreSQL answers. Locally, a file that needs it is skipped with a printed note; in CI
 * (CI=true) not reaching it fails the file: CI must run the PostgreSQL suites, not skip them.
 */
export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: testPostgresUrl, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return true;
  } catch (err) {
    await client.end().catch(() => {});
    const why = `PostgreSQL is not reachable at ${shownTestUrl()} (DECKHAND_TEST_POSTGRES_URL): ${err instanceof Error ? err.message : String(err)}`;
    if (process.env.CI === 'true') throw new Error(`${why}. CI runs the PostgreSQL suites; .ci/run installs and starts PostgreSQL.`);
    console.warn(`${why}. Skipping the PostgreSQL tests of this file; start PostgreSQL (see .ci/run) or set DECKHAND_TEST_POSTGRES_URL.`);
    return false;
  }
}

export interface TestDatabase {
  name: string;
  /** The test URL with this database. */
  url: string;
  /** Empties every table but the migrations', restarting ids: a fresh, migrated store. */
  reset(): Promise<void>;
  drop(): Promise<void>;
}

/**
 * DELETEs every table but schema_migrations, referencing tables before the ones they reference,
 * then restarts the id sequences. TRUNCATE would do it in one statement, but it replaces every
 * table's files (about 10 ms a table); a few rows are deleted in well under that.
 */
async function emptyingSql(client: pg.Client): Promise<string> {
  const tables = (await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`)).rows.map((r) => r.name);
  const references = (
    await client.query<{ child: string; parent: string }>(
      `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
       WHERE k.contype = 'f' AND k.conrelid <> k.confrelid AND c.relnamespace = to_regnamespace(current_schema())`,
    )
  ).rows;
  const order: string[] = [];
  const left = new Set(tables);
  while (left.size > 0) {
    // A table goes once no table still to be emptied references it.
    const next = [...left].filter((t) => !references.some((r) => r.parent === t && r.child !== t && left.has(r.child)));
    if (next.length === 0) throw new Error(`foreign keys form a cycle among ${[...left].join(', ')}`);
    for (const t of next) {
      order.push(t);
      left.delete(t);
    }
  }
  const sequences = (await client.query<{ name: string }>(`SELECT sequencename AS name FROM pg_sequences WHERE schemaname = current_schema()`)).rows.map((r) => r.name);
  return [...order.map((t) => `DELETE FROM ${pg.escapeIdentifier(t)};`), ...sequences.map((s) => `ALTER SEQUENCE ${pg.escapeIdentifier(s)} RESTART;`)].join('\n');
}

/** Creates a database of its own for one test file; `label` (lower case) says whose in pg_stat_activity. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `deckhand_t_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testPostgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(testPostgresUrl);
  url.pathname = `/${name}`;
  let client: pg.Client | null = null;
  return {
    name,
    url: url.href,
    async reset() {
      if (client === null) {
        client = new pg.Client({ connectionString: url.href });
        await client.connect();
      }
      await client.query(await emptyingSql(client));
    },
    async drop() {
      await client?.end();
      const dropper = new pg.Client({ connectionString: testPostgresUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** A migrated, empty PostgresStore on `db`: what the contract suites' factories return. */
export async function freshStore(db: TestDatabase): Promise<PostgresStore> {
  const store = new PostgresStore(db.url);
  await store.migrate();
  await db.reset();
  return store;
}
