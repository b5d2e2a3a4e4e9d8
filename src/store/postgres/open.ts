import { DeckhandError, ErrorCode } from '../../core/errors.js';
import { explainConnectError, postgresTarget } from './connection.js';
import { openPool, sqlStateOf } from './db.js';
import { PostgresStore } from './postgres-store.js';
import { blockedSessionError, checkSessions, transactionPoolingError } from './session-check.js';

/**
 * Opens the PostgreSQL store at start: connects once first, so a wrong host, password or database
 * name is told as such (naming DATABASE_URL) rather than as a failed migration; refuses a pooler in
 * transaction mode (session-check.ts); then migrates.
 */
export async function openPostgresStore(databaseUrl: string): Promise<PostgresStore> {
  const store = new PostgresStore(databaseUrl);
  try {
    await store.ping();
  } catch (err) {
    await store.close();
    throw explainConnectError(err, store);
  }
  // Before migrating: in transaction mode the migration lock could be left held by a session nobody owns.
  // Without the session's SETs: a pooler with no server session free must not keep the check waiting.
  const probe = openPool({ config: postgresTarget(databaseUrl).config, session: [] }, 2);
  let sessions: Awaited<ReturnType<typeof checkSessions>>;
  try {
    sessions = await checkSessions(probe);
  } catch (err) {
    await store.close();
    throw explainConnectError(err, store);
  } finally {
    await probe.end();
  }
  if (sessions !== 'kept') {
    await store.close();
    throw sessions === 'moved' ? transactionPoolingError(store.where) : blockedSessionError(store.where);
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    if (sqlStateOf(err) === '42501') {
      const reason = err instanceof Error ? err.message : String(err);
      throw new DeckhandError(
        ErrorCode.ConfigInvalid,
        `Cannot create Deckhand's tables in PostgreSQL at ${store.where} (DATABASE_URL): ${reason}. Make the user in DATABASE_URL the database's owner, or GRANT CREATE ON SCHEMA public TO it.`,
        { variable: 'DATABASE_URL', where: store.where },
        { cause: err },
      );
    }
    throw explainConnectError(err, store);
  }
  return store;
}
