import { markStoreError } from '../store-unavailable.js';

/**
 * SQLite result codes (better-sqlite3's SqliteError#code, extended codes included) that mean "the
 * database cannot be used just now" rather than "this statement is wrong": another connection holds
 * the lock past busy_timeout (BUSY, LOCKED), the disk failed or filled (IOERR, FULL), the file
 * cannot be opened (CANTOPEN).
 */
const unavailableCode = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN)(_[A-Z_]+)?$/;

export function isSqliteUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && unavailableCode.test(code);
}

/**
 * Makes every async method of `store` (from its prototypes: the Store interface) report SQLite's
 * unavailable errors as E_STORE_UNAVAILABLE, thrown or rejected, and pass anything else through
 * unchanged: the store boundary, where SQLite's codes are known. Installs own properties on the
 * instance, once.
 */
export function markSqliteErrors(store: object): void {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(store) as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      // The Store methods are the async ones; sync helpers (statement, immediate) throw into them.
      const value: unknown = Object.getOwnPropertyDescriptor(proto, name)?.value;
      if (name !== 'constructor' && typeof value === 'function' && value.constructor.name === 'AsyncFunction') names.add(name);
    }
  }
  const target = store as Record<string, unknown>;
  for (const name of names) {
    if (Object.prototype.hasOwnProperty.call(store, name)) continue;
    const method = target[name] as (...args: unknown[]) => unknown;
    target[name] = function (this: unknown, ...args: unknown[]): unknown {
      let result: unknown;
      try {
        result = method.apply(this, args);
      } catch (err) {
        throw markStoreError(err, isSqliteUnavailable, 'sqlite');
      }
      if (result instanceof Promise) return result.catch((err: unknown) => Promise.reject(markStoreError(err, isSqliteUnavailable, 'sqlite')));
      return result;
    };
  }
}
