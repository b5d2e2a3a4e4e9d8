import { DeckhandError, ErrorCode } from '../../core/errors.js';
import type { AcquireLockResult, Lock } from '../../core/model.js';
import { type Db, type Sql, lockSpace, serialize } from './db.js';
import { type LockRow, environmentWide, toLock } from './rows.js';

/** Environment and app locks of the PostgreSQL store. */

const appColumn = (app: string | null): string => app ?? environmentWide;
const label = (environment: string, app: string | null): string => (app === null ? environment : `${app} in ${environment}`);

/**
 * Read, then write, with the advisory lock on exactly this (environment, app) held throughout: two
 * people taking a free lock at once must not both get it (an upsert alone would let the second
 * silently replace the first).
 */
export async function acquireLock(db: Db, lock: Lock, options: { takeover?: boolean } = {}): Promise<AcquireLockResult> {
  return db.tx(async (sql) => {
    await serialize(sql, lockSpace.lock, JSON.stringify([lock.environment, appColumn(lock.app)]));
    const held = await lockOn(sql, lock.environment, lock.app);
    const key = [lock.environment, appColumn(lock.app)];
    if (held !== null && held.holder === lock.holder) {
      const updated = await sql.row<LockRow>('UPDATE locks SET reason = $3 WHERE environment = $1 AND app = $2 RETURNING *', [...key, lock.reason ?? null]);
      return { lock: toLock(updated!), previous: null };
    }
    if (held !== null && !options.takeover) {
      const why = held.reason ? ` (${held.reason})` : '';
      throw new DeckhandError(ErrorCode.LockHeld, `${label(held.environment, held.app)} is locked by ${held.holder} since ${held.since}${why}.`, { lock: held });
    }
    const written = await sql.row<LockRow>(
      `INSERT INTO locks (environment, app, holder, reason, since) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (environment, app) DO UPDATE SET holder = excluded.holder, reason = excluded.reason, since = excluded.since
       RETURNING *`,
      [...key, lock.holder, lock.reason ?? null, lock.since],
    );
    return { lock: toLock(written!), previous: held };
  });
}

export async function releaseLock(sql: Sql, environment: string, app: string | null): Promise<Lock | null> {
  const row = await sql.row<LockRow>('DELETE FROM locks WHERE environment = $1 AND app = $2 RETURNING *', [environment, appColumn(app)]);
  return row === undefined ? null : toLock(row);
}

export async function lockOn(sql: Sql, environment: string, app: string | null): Promise<Lock | null> {
  const row = await sql.row<LockRow>('SELECT * FROM locks WHERE environment = $1 AND app = $2', [environment, appColumn(app)]);
  return row === undefined ? null : toLock(row);
}

/** The environment-wide lock first, then the app's own. */
export async function locksFor(sql: Sql, environment: string, app: string): Promise<Lock[]> {
  const rows = await sql.rows<LockRow>('SELECT * FROM locks WHERE environment = $1 AND app IN ($2, $3) ORDER BY app', [environment, environmentWide, app]);
  return rows.map(toLock);
}

/** Ordered by environment (bytewise, the columns' C collation), each environment-wide lock first. */
export async function listLocks(sql: Sql): Promise<Lock[]> {
  const rows = await sql.rows<LockRow>('SELECT * FROM locks ORDER BY environment, app');
  return rows.map(toLock);
}
