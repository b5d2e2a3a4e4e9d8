import { DeckhandError, ErrorCode } from '../../core/errors.js';
import type { AcquireLockResult, Lock } from '../../core/model.js';
import type { Prepare } from './approvals.js';
import { environmentWide, lockAppColumn, toLock, type LockRow } from './rows.js';

function lockLabel(environment: string, app: string | null): string {
  return app === null ? environment : `${app} in ${environment}`;
}

export function lockOn(prepare: Prepare, environment: string, app: string | null): Lock | null {
  const row = prepare('SELECT * FROM locks WHERE environment = ? AND app = ?').get(environment, lockAppColumn(app));
  return row === undefined ? null : toLock(row as LockRow);
}

/**
 * Store.acquireLock, inside the caller's immediate transaction: the holder's own lock gets its
 * reason updated; someone else's is refused (E_LOCK_HELD) unless `takeover`, which replaces it.
 */
export function acquire(prepare: Prepare, lock: Lock, takeover: boolean): AcquireLockResult {
  const key = { environment: lock.environment, app: lockAppColumn(lock.app) };
  const held = lockOn(prepare, lock.environment, lock.app);
  if (held !== null && held.holder === lock.holder) {
    const updated = prepare('UPDATE locks SET reason = @reason WHERE environment = @environment AND app = @app RETURNING *').get({ ...key, reason: lock.reason ?? null }) as LockRow;
    return { lock: toLock(updated), previous: null };
  }
  if (held !== null && !takeover) {
    const why = held.reason ? ` (${held.reason})` : '';
    throw new DeckhandError(ErrorCode.LockHeld, `${lockLabel(held.environment, held.app)} is locked by ${held.holder} since ${held.since}${why}.`, { lock: held });
  }
  const written = prepare(`
    INSERT INTO locks (environment, app, holder, reason, since) VALUES (@environment, @app, @holder, @reason, @since)
    ON CONFLICT (environment, app) DO UPDATE
    SET holder = excluded.holder, reason = excluded.reason, since = excluded.since
    RETURNING *`).get({ ...key, holder: lock.holder, reason: lock.reason ?? null, since: lock.since }) as LockRow;
  return { lock: toLock(written), previous: held };
}

export function deleteLock(prepare: Prepare, environment: string, app: string | null): Lock | null {
  const row = prepare('DELETE FROM locks WHERE environment = ? AND app = ? RETURNING *').get(environment, lockAppColumn(app));
  return row === undefined ? null : toLock(row as LockRow);
}

/** The environment-wide lock first, then the app's own. */
export function locksOn(prepare: Prepare, environment: string, app: string): Lock[] {
  return (prepare('SELECT * FROM locks WHERE environment = ? AND app IN (?, ?) ORDER BY app').all(environment, environmentWide, app) as LockRow[]).map(toLock);
}

/** Ordered by environment, each environment-wide lock before that environment's app locks. */
export function allLocks(prepare: Prepare): Lock[] {
  return (prepare('SELECT * FROM locks ORDER BY environment, app').all() as LockRow[]).map(toLock);
}
