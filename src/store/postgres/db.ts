import pg from 'pg';
import { isStoreUnavailable, markStoreError } from '../store-unavailable.js';
import type { PostgresTarget } from './connection.js';

/**
 * The connection pool and the few things every PostgreSQL query module shares: how rows come
 * back (types), how statements run (Sql), transactions, advisory locks and error codes.
 */

/** SQLSTATE codes the store turns into results or DeckhandErrors. */
export const sqlState = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
} as const;

export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The constraint a violation names (which unique index), when PostgreSQL says. */
export function constraintOf(err: unknown): string | undefined {
  const constraint = (err as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/** Node's socket errors that mean the server cannot be reached or the connection broke. */
const unreachable = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT']);
/**
 * SQLSTATEs of a server that is going away, not up yet, full or too slow just now: admin/crash
 * shutdown, cannot connect now, too many connections; a statement cancelled past
 * statement_timeout (57014, query_canceled), a lock not had within lock_timeout (55P03), a session
 * ended for idling in a transaction (25P03). Each is worth trying again later; none is about what
 * the statement said.
 */
const unavailableStates = new Set(['57P01', '57P02', '57P03', '53300', '57014', '55P03', '25P03']);

/**
 * Whether an error from a query or a connection attempt means "the database is not there just
 * now", decided by codes and types, never message text: a socket errno, a SQLSTATE of class 08
 * (connection exception) or in unavailableStates, or an error node-postgres raises itself (a plain
 * Error without a code: the connection ended, timed out, or is not queryable any more). What the
 * server answers about a statement (a pg.DatabaseError: constraint, syntax, permission) is not.
 */
export function isPostgresUnavailable(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isPostgresUnavailable); // a host with several addresses
  if (!(err instanceof Error)) return false;
  const code = sqlStateOf(err);
  if (code !== undefined) return unreachable.has(code) || code.startsWith('08') || unavailableStates.has(code);
  return !(err instanceof pg.DatabaseError) && Object.getPrototypeOf(err) === Error.prototype;
}

/** The connection itself failed (socket error, ended, no answer in time), not a statement the server answered. */
function connectionLost(err: unknown): boolean {
  const cause = isStoreUnavailable(err) ? (err as Error).cause : err; // the statements inside mark their errors already
  return cause instanceof Error && !(cause instanceof pg.DatabaseError) && isPostgresUnavailable(cause);
}

/** A query's or connection's error as E_STORE_UNAVAILABLE when it is one (see isPostgresUnavailable). */
function marked(err: unknown): unknown {
  return markStoreError(err, isPostgresUnavailable, 'postgres');
}

const oids = { int8: 20, timestamptz: 1184 } as const;
const parseTimestamptz = pg.types.getTypeParser(oids.timestamptz) as (value: string) => Date;

/**
 * Per pool, not pg's global parsers. Ids are bigint, which pg returns as strings: they are numbers
 * in the domain model (safe far beyond any id Deckhand will reach). Timestamps are timestamptz,
 * for real time comparisons and ordering; they come back exactly as Date#toISOString wrote them
 * (the only form the domain uses), so they round-trip like SQLite's text does.
 */
export const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === oids.int8) return (value: string) => Number(value);
    if (oid === oids.timestamptz) return (value: string) => parseTimestamptz(value).toISOString();
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * PostgreSQL text cannot hold U+0000, which SQLite stores happily (a script may print one). Rather
 * than fail to save a log line or a reason, the character becomes U+FFFD. JSON parameters are not
 * affected: JSON.stringify writes it as the escape \u0000, which json columns keep.
 */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
  if (Array.isArray(value)) return value.map(storable);
  return value;
}

/** Runs statements on the pool (each its own transaction) or inside one transaction. */
export interface Sql {
  rows<T>(text: string, params?: readonly unknown[]): Promise<T[]>;
  row<T>(text: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Resolves the number of rows the statement touched. */
  run(text: string, params?: readonly unknown[]): Promise<number>;
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

class Statements implements Sql {
  constructor(private readonly target: Queryable) {}

  async rows<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    const result = await this.target.query(text, params.map(storable)).catch((err: unknown) => Promise.reject(marked(err)));
    return result.rows as T[];
  }

  async row<T>(text: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(text, params))[0];
  }

  async run(text: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.target.query(text, params.map(storable)).catch((err: unknown) => Promise.reject(marked(err)))).rowCount ?? 0;
  }
}

/**
 * Advisory lock keys: one 64-bit space per purpose (a Deckhand prefix in the high half), the
 * object's name hashed into the low half. A hash collision only makes two unrelated writers wait
 * for each other, never lets two writers of the same thing in together.
 */
const lockPrefix = 0x4448_0000; // "DH"
export const lockSpace = { migrations: 0, deploymentTarget: 1, lock: 2, incident: 3, events: 4 } as const;

/** Session-level key (integer, no hashing) for one whole purpose, such as running migrations. */
export function wholeSpaceKey(space: number): string {
  return ((BigInt(lockPrefix + space) << 32n) | 0n).toString();
}

/**
 * The store's pool: each new connection runs `target.session` (its time limits) before the pool
 * hands it out; should that fail, the connection is closed and whoever asked for it gets the
 * error. An idle connection that dies (database restart) is reported as an 'error' event;
 * unhandled, it would end the process. The pool discards it, and the next query opens a new one
 * (or fails, where its caller sees it).
 */
export function openPool(target: Pick<PostgresTarget, 'config' | 'session'>, max: number): pg.Pool {
  const settings = target.session.join('; ');
  const pool = new pg.Pool({ ...target.config, max, ...(settings !== '' ? { onConnect: async (client: pg.ClientBase) => void (await client.query(settings)) } : {}) });
  pool.on('error', () => {});
  return pool;
}

/**
 * A pool for work that may rightly take longer than any request: migrations, and the
 * session-level advisory lock replicas queue on while one of them migrates. No client
 * query_timeout, and each session without statement, lock and idle-in-transaction limits (also
 * those DATABASE_URL sets). One connection; end it when done.
 */
export function untimedPool(target: Pick<PostgresTarget, 'config'>): pg.Pool {
  const { query_timeout: _untimed, ...config } = target.config;
  return openPool({ config, session: ['SET statement_timeout = 0', 'SET lock_timeout = 0', 'SET idle_in_transaction_session_timeout = 0'] }, 1);
}

export class Db extends Statements {
  constructor(readonly pool: pg.Pool) {
    super(pool);
  }

  /**
   * Runs `work` in one transaction (READ COMMITTED) on one connection; a throw rolls it back and
   * propagates. Notifications sent inside are delivered when it commits.
   */
  async tx<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((err: unknown) => Promise.reject(marked(err)));
    let broken = false;
    // A connection that breaks between two statements of the transaction is reported as an 'error'
    // event on the checked-out client (pg-pool listens only while a client is idle): unheard, it
    // would end the process. The statement after it fails, and the client is not given back.
    const lost = (): void => {
      broken = true;
    };
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      const result = await work(new Statements(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that broke or stopped answering (no answer within query_timeout) is dropped,
      // which rolls back on the server: a ROLLBACK would only wait behind the unanswered statement.
      // One that cannot even roll back is not given back to the pool either.
      if (connectionLost(err)) broken = true;
      else await client.query('ROLLBACK').catch(() => (broken = true));
      throw marked(err);
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }
}

/**
 * Inside a transaction: waits until no other transaction holds the lock on (space, key), and holds
 * it until this one ends. The read-then-write methods SQLite runs under its single write lock
 * (BEGIN IMMEDIATE) take this for exactly the thing they read, so they serialise the same way.
 */
export async function serialize(sql: Sql, space: number, key: string): Promise<void> {
  await sql.run('SELECT pg_advisory_xact_lock(($1::bigint << 32) | (hashtext($2)::bigint & 4294967295))', [lockPrefix + space, key]);
}
