import pg from 'pg';
import { DeckhandError, ErrorCode } from '../../core/errors.js';

/** How long one statement of the check may wait: past it, the second connection is waiting for the first one's session. */
const probeTimeoutMs = 5_000;

/**
 * Whether each of this pool's connections keeps one server session, as Deckhand needs: migrations
 * hold a session-level advisory lock across transactions, the job wake-ups LISTEN on a session,
 * and each connection's time limits are SET once per session. A pooler in transaction mode
 * (PgBouncer pool_mode = transaction) breaks all three: between two transactions a client may be
 * given another server session.
 *
 * The check: A notes its server process; B opens a transaction, and so holds a server session
 * (PgBouncer hands out the one released last, A's, unless server_round_robin is set); A asks
 * again. Directly, or through a session-mode pool, A still has its own session ('kept'); in
 * transaction mode its session went to B and A gets another ('moved'). 'blocked': a statement
 * waited for the other connection's session (a pooler with a single server connection) — which
 * Deckhand, holding up to a dozen connections per process, cannot work with either.
 */
export async function checkSessions(pool: pg.Pool): Promise<'kept' | 'moved' | 'blocked'> {
  // node-postgres reads query_timeout per query too (lib/client.js); its types leave it out.
  const bounded = (text: string): pg.QueryConfig => Object.assign({ text }, { query_timeout: probeTimeoutMs });
  const pidOf = async (client: pg.PoolClient) => (await client.query<{ pid: number }>(bounded('SELECT pg_backend_pid() AS pid'))).rows[0]?.pid;
  let a: pg.PoolClient | null = null;
  let b: pg.PoolClient | null = null;
  let failed: Error | undefined;
  try {
    a = await pool.connect();
    const first = await pidOf(a);
    b = await pool.connect();
    await b.query(bounded('BEGIN'));
    await pidOf(b);
    const again = await pidOf(a);
    await b.query('COMMIT');
    return first === again ? 'kept' : 'moved';
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err));
    // Waiting ran out: node-postgres's own timeouts are plain Errors without a code. Anything else
    // (the server's answer, a socket error) is for the caller to explain.
    if (Object.getPrototypeOf(err) === Error.prototype && (err as { code?: unknown }).code === undefined) return 'blocked';
    throw err;
  } finally {
    // A connection left waiting is not given back.
    a?.release(failed);
    b?.release(failed);
  }
}

/** E_CONFIG_INVALID naming DATABASE_URL, for a pooler whose second connection waits for the first one's session. */
export function blockedSessionError(where: string): DeckhandError {
  return new DeckhandError(
    ErrorCode.ConfigInvalid,
    `DATABASE_URL (${where}): a second connection had to wait for the first one's server session, so it goes through a pooler with too few server connections (or in transaction mode). Deckhand uses up to 12 connections per process, each keeping its session: point DATABASE_URL at PostgreSQL itself, or at a session-mode pool (pool_mode = session) with room for them (default_pool_size).`,
    { variable: 'DATABASE_URL', where },
  );
}

/** E_CONFIG_INVALID naming DATABASE_URL and what to do, for a pool in transaction mode. */
export function transactionPoolingError(where: string): DeckhandError {
  return new DeckhandError(
    ErrorCode.ConfigInvalid,
    `DATABASE_URL (${where}) reaches PostgreSQL through a pooler in transaction mode (PgBouncer pool_mode = transaction): one connection does not keep one server session, which Deckhand's migration lock, job wake-ups (LISTEN) and time limits need. Point DATABASE_URL at PostgreSQL itself, or at a session-mode pool (pool_mode = session; PgBouncer can set it per database).`,
    { variable: 'DATABASE_URL', where },
  );
}
