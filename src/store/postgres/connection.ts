import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import { DeckhandError, ErrorCode, isDeckhandError } from '../../core/errors.js';
import { parseDuration } from '../../config/duration.js';
import { typeParsers } from './db.js';

/**
 * DATABASE_URL (postgres:// or postgresql://) to a node-postgres pool config. node-postgres
 * parses the URL (user, password, host, port, database, ?host= for a socket directory, ?options=),
 * but Deckhand reads the TLS parameters itself: pg 8 treats sslmode=require as verify-full (with a
 * warning) and plans to change that in pg 9, so what a URL means would depend on the pg version.
 * Here it means what libpq says it means.
 */

export const sslModes = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
type SslMode = (typeof sslModes)[number];

/** Query parameters this module consumes; they are removed before pg sees the URL. */
const tlsParams = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'];

export interface PostgresTarget {
  /** For node-postgres; holds the password. */
  config: pg.PoolConfig;
  /** Statements each new pooled connection runs first (its time limits); see db.ts openPool. */
  session: readonly string[];
  /** host:port/database (or the socket directory), for messages. Never the user's password. */
  where: string;
}

function invalid(message: string, details: Record<string, unknown> = {}): DeckhandError {
  return new DeckhandError(ErrorCode.ConfigInvalid, message, { variable: 'DATABASE_URL', ...details });
}

function readPem(param: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as { code?: string }).code ?? String(err);
    throw invalid(`DATABASE_URL's ${param} names ${path}, which cannot be read (${reason}).`, { path });
  }
}

function tlsOptions(mode: SslMode, url: URL): pg.PoolConfig['ssl'] {
  if (mode === 'disable') return false;
  const param = (name: string) => url.searchParams.get(name) ?? undefined;
  const rootCert = param('sslrootcert');
  const options: ConnectionOptions = {};
  // libpq's sslrootcert=system means the usual CAs, which is Node's default.
  if (rootCert !== undefined && rootCert !== 'system') options.ca = readPem('sslrootcert', rootCert);
  const cert = param('sslcert');
  const key = param('sslkey');
  if (cert !== undefined) options.cert = readPem('sslcert', cert);
  if (key !== undefined) options.key = readPem('sslkey', key);
  if (mode === 'require' && options.ca === undefined) return { ...options, rejectUnauthorized: false }; // encrypted, not verified
  // Node checks the chain and that the certificate names the host (pg passes it on, as SNI for names).
  if (mode === 'verify-full') return options;
  // verify-ca, and require with a root certificate (libpq: then it acts as verify-ca): the chain is checked, not the name.
  if (options.ca === undefined) throw invalid('DATABASE_URL has sslmode=verify-ca without sslrootcert: name the CA file (sslrootcert=/path/ca.pem), or use sslmode=verify-full to check against the usual CAs.');
  return { ...options, checkServerIdentity: () => undefined };
}

/** How long one statement may run unless DECKHAND_PG_STATEMENT_TIMEOUT or DATABASE_URL says otherwise. */
export const defaultStatementTimeoutMs = 30_000;

/**
 * PostgreSQL's own time values ("5000", "5s", "2min"; a bare number is milliseconds) in
 * milliseconds; 0 means no limit; null when it is not one.
 */
export function parsePgDuration(value: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/.exec(value);
  if (!match) return null;
  const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
  return Math.round(Number(match[1]) * (unitMs[match[2] ?? 'ms'] ?? 1));
}

/** A setting's value in a libpq `options` string ("-c statement_timeout=5s --lock_timeout=1s"); undefined when absent. */
function optionSetting(options: string | undefined, name: string): string | undefined {
  if (!options) return undefined;
  const match = new RegExp(`(?:^|\\s)(?:-c\\s*|--)${name}=(\\S+)`).exec(options);
  return match?.[1];
}

/**
 * Time limits. The server cancels a statement past statement_timeout itself (SQLSTATE 57014), and
 * ends a session left idle inside a transaction as long (its client gone quiet), so its row and
 * advisory locks do not block the other replicas; the client waits a little longer for any answer
 * (query_timeout), for a connection that stopped answering at all (a network partition), where
 * only the client can give up. The limit is DATABASE_URL's statement_timeout (?statement_timeout=
 * or ?options=-c statement_timeout=, or PGOPTIONS), else DECKHAND_PG_STATEMENT_TIMEOUT, else 30 s;
 * 0 means none. Migrations set their own (none: db.ts untimedPool).
 *
 * The server's limits are SET on each new connection, not sent as startup parameters: PgBouncer
 * refuses startup parameters it does not know ("unsupported startup parameter"), while a SET
 * passes through it (and lasts the session in its session mode).
 */
function timeLimits(url: URL, env: NodeJS.ProcessEnv): { session: string[]; queryTimeoutMs: number | null } {
  const param = url.searchParams.get('statement_timeout');
  const options = url.searchParams.get('options') ?? env.PGOPTIONS;
  const inOptions = optionSetting(options, 'statement_timeout');
  let ms: number | null;
  if (param !== null) {
    ms = parsePgDuration(param);
    if (ms === null) throw invalid(`DATABASE_URL has statement_timeout=${param}, which is not a time: write milliseconds (30000) or with a unit (30s, 2min); 0 means no limit.`);
  } else if (inOptions !== undefined) {
    // The server reads it, units and all; a value Deckhand cannot read leaves the client the default bound.
    ms = parsePgDuration(inOptions) ?? defaultStatementTimeoutMs;
  } else {
    const raw = env.DECKHAND_PG_STATEMENT_TIMEOUT?.trim();
    ms = raw ? (/^0+(\.0+)?\s*(ms|s|m|h)?$/.test(raw) ? 0 : parseDuration(raw)) : defaultStatementTimeoutMs;
    if (ms === null) throw new DeckhandError(ErrorCode.EnvInvalid, `DECKHAND_PG_STATEMENT_TIMEOUT=${JSON.stringify(raw)} is not a duration: write e.g. 30s or 2m; 0 means no limit.`, { variable: 'DECKHAND_PG_STATEMENT_TIMEOUT' });
  }
  if (ms === 0) return { session: [], queryTimeoutMs: null };
  const session: string[] = [];
  // In options, the server has applied it already.
  if (inOptions === undefined) session.push(`SET statement_timeout = ${ms}`);
  if (optionSetting(options, 'idle_in_transaction_session_timeout') === undefined) session.push(`SET idle_in_transaction_session_timeout = ${ms}`);
  return { session, queryTimeoutMs: ms + Math.min(5_000, ms) };
}

/** Parses a postgres:// URL. Messages never echo the URL: it holds the password. */
export function postgresTarget(databaseUrl: string, env: NodeJS.ProcessEnv = process.env): PostgresTarget {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw invalid('DATABASE_URL is not a valid postgres:// URL. The form is postgres://user:password@host:5432/database; percent-encode special characters in the user and password (@ as %40, / as %2F).');
  }
  if (url.searchParams.has('ssl')) throw invalid('DATABASE_URL has ssl=, which Deckhand does not read: say sslmode=require (encrypted) or sslmode=verify-full (encrypted, server verified).');
  const mode = url.searchParams.get('sslmode') ?? env.PGSSLMODE ?? 'disable';
  if (!(sslModes as readonly string[]).includes(mode)) {
    throw invalid(`DATABASE_URL has sslmode=${mode}, which Deckhand does not support: use one of ${sslModes.join(', ')} (prefer and allow, which fall back to an unencrypted connection, are not offered).`);
  }
  const host = decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1')) || url.searchParams.get('host') || env.PGHOST || 'localhost';
  const port = url.port || url.searchParams.get('port') || env.PGPORT || '5432';
  const database = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username) || env.PGDATABASE || env.USER || '';
  const ssl = tlsOptions(mode as SslMode, url);
  const timeoutSeconds = Number(url.searchParams.get('connect_timeout') ?? env.PGCONNECT_TIMEOUT ?? 10);
  const limits = timeLimits(url, env);
  const stripped = new URL(url.href);
  for (const name of [...tlsParams, 'connect_timeout', 'statement_timeout']) stripped.searchParams.delete(name);
  return {
    config: {
      connectionString: stripped.href,
      ssl,
      // libpq: 0 means wait forever; pg takes milliseconds. Without a limit, an unreachable host would hang the start.
      connectionTimeoutMillis: Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds * 1000 : 0,
      fallback_application_name: 'deckhand',
      keepAlive: true,
      types: typeParsers,
      ...(limits.queryTimeoutMs !== null ? { query_timeout: limits.queryTimeoutMs } : {}),
    },
    session: limits.session,
    where: host.startsWith('/') ? `${host} (socket), database ${database}` : `${host}:${port}/${database}`,
  };
}

/** Why a connection failed and what to check, in words; undefined when `err` is not about connecting. */
function connectReason(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> } | null;
  // Node reports a host with several addresses (localhost: ::1 and 127.0.0.1) as an AggregateError.
  const code = typeof e?.code === 'string' ? e.code : (e?.errors?.[0]?.code as string | undefined);
  const message = typeof e?.message === 'string' ? e.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED). Check that PostgreSQL is running there and that the host and port in DATABASE_URL are right';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name does not resolve (${code}). Check the host in DATABASE_URL`;
    case 'ENOENT':
      return 'there is no PostgreSQL socket in that directory (ENOENT). Check that PostgreSQL is running and that host= names its socket directory';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `the host cannot be reached (${code}). Check the host, the port and the network (firewall, security group)`;
    case 'ECONNRESET':
      return 'the server closed the connection (ECONNRESET). Check the port, and sslmode: the server may require TLS';
    case '28P01':
      return `${message}. Check the user and password in DATABASE_URL`;
    case '28000':
      if (/no PostgreSQL user name/i.test(message)) return 'DATABASE_URL names no user. The form is postgres://user:password@host:5432/database';
      return `${message}. The server's pg_hba.conf does not let this user in from here (or wants TLS: sslmode=require)`;
    case '3D000':
      return `${message}. Create it (createdb), or fix the database name in DATABASE_URL`;
    case '42501':
      return `${message}. Grant the user in DATABASE_URL CONNECT on the database`;
    case '53300':
      return `${message}. The server has no free connections`;
    case '57P03':
      return `${message}. The server is starting up or shutting down; try again`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the server's TLS certificate was not accepted (${message}). Name its CA with sslrootcert=/path/ca.pem, or connect by the name on the certificate`;
  }
  if (/does not support SSL/i.test(message)) return 'the server does not support TLS. Enable ssl on the server, or use sslmode=disable on a trusted network only';
  if (/client password must be a string/.test(message)) return 'the server asks for a password and DATABASE_URL has none. The form is postgres://user:password@host:5432/database';
  // node-postgres says this both when the server hangs up and when connect_timeout runs out.
  if (/Connection terminated|timeout/i.test(message)) {
    return 'the server closed the connection, or did not answer within connect_timeout (default 10 s). Check the host, the port, the network, and sslmode';
  }
  return undefined;
}

/**
 * A connection failure at start as a DeckhandError naming DATABASE_URL, where it points and why;
 * `err` itself when it is not about connecting (a failed migration says its own thing).
 */
export function explainConnectError(err: unknown, target: Pick<PostgresTarget, 'where'>): unknown {
  // The store marks connection failures E_STORE_UNAVAILABLE (db.ts); at start, say what the cause says.
  if (isDeckhandError(err, ErrorCode.StoreUnavailable)) err = err.cause;
  const reason = connectReason(err);
  if (reason === undefined) return err;
  return new DeckhandError(ErrorCode.ConfigInvalid, `Cannot connect to PostgreSQL at ${target.where} (DATABASE_URL): ${reason}.`, { variable: 'DATABASE_URL', where: target.where }, { cause: err });
}
