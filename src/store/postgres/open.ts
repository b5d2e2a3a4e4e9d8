import { DeckhandError, ErrorCode } from '../../core/errors.js';
import { explainConnectError } from './connection.js';
import { sqlStateOf } from './db.js';
import { PostgresStore } from './postgres-store.js';

/**
 * Opens the PostgreSQL store at start: connects once first, so a wrong host, password or database
 * name is told as such (naming DATABASE_URL) rather than as a failed migration, then migrates.
 */
export async function openPostgresStore(databaseUrl: string): Promise<PostgresStore> {
  const store = new PostgresStore(databaseUrl);
  try {
    await store.ping();
  } catch (err) {
    await store.close();
    throw explainConnectError(err, store);
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
