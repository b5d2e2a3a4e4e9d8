import { isAbsolute, resolve } from 'node:path';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

const acceptedForms =
  'sqlite:./relative/path.db (relative to the working directory), sqlite:/absolute/path.db, sqlite::memory:, or postgres://user:password@host:5432/database (also postgresql://)';

/**
 * Where a DATABASE_URL points, resolved. Exported for tests and for messages such as
 * "using database at ...". A PostgreSQL URL is checked when it is opened (postgres/connection.ts).
 */
export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

function invalid(message: string): DeckhandError {
  return new DeckhandError(ErrorCode.ConfigInvalid, message, { variable: 'DATABASE_URL' });
}

/**
 * Parses DATABASE_URL. The value is never echoed back in an error: it could hold a password.
 */
export function parseDatabaseUrl(databaseUrl: string, cwd: string = process.cwd()): DatabaseTarget {
  const url = databaseUrl.trim();
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
  if (!/^sqlite:/i.test(url)) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    const what = scheme === undefined ? 'has no scheme' : `uses the unsupported scheme "${scheme}:"`;
    throw invalid(`DATABASE_URL ${what}. Accepted forms: ${acceptedForms}.`);
  }
  let location = url.slice('sqlite:'.length);
  // sqlite:///abs/path.db is the URL spelling of sqlite:/abs/path.db; sqlite://host/... means nothing here.
  if (location.startsWith('//')) {
    if (!location.startsWith('///')) {
      throw invalid(`DATABASE_URL names a host after sqlite://, which SQLite has no use for. Accepted forms: ${acceptedForms}.`);
    }
    location = location.slice(2);
  }
  if (location === ':memory:') return { kind: 'sqlite', path: ':memory:' };
  if (location === '') throw invalid(`DATABASE_URL "sqlite:" is missing a path. Accepted forms: ${acceptedForms}.`);
  return { kind: 'sqlite', path: isAbsolute(location) ? location : resolve(cwd, location) };
}

/** DATABASE_URL as it may be shown (the start-up line): a PostgreSQL password becomes ***. */
export function describeDatabaseUrl(databaseUrl: string): string {
  const url = databaseUrl.trim();
  if (!/^postgres(ql)?:\/\//i.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const name of ['password', 'sslpassword']) if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
    return parsed.href.replaceAll('%2A%2A%2A', '***');
  } catch {
    return 'postgres://(a URL that does not parse)';
  }
}

/** Opens the store DATABASE_URL points to and brings its schema up to date. */
export async function openStore(databaseUrl: string, options: { cwd?: string } = {}): Promise<Store> {
  const target = parseDatabaseUrl(databaseUrl, options.cwd);
  // node-postgres is loaded only for a PostgreSQL URL (a SQLite start does not pay for it).
  if (target.kind === 'postgres') return (await import('./postgres/open.js')).openPostgresStore(target.url);
  let store: SqliteStore;
  try {
    store = new SqliteStore(target.path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DeckhandError(
      ErrorCode.ConfigInvalid,
      `Cannot open the SQLite database at ${target.path} (DATABASE_URL): ${reason}`,
      { variable: 'DATABASE_URL', path: target.path },
      { cause: err },
    );
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
