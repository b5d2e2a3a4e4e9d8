import { DeckhandError, ErrorCode, isDeckhandError } from '../core/errors.js';

/**
 * "The database is not there just now": the one error the rest of Deckhand recognises a store
 * failure by (E_STORE_UNAVAILABLE: HTTP 503 with Retry-After, a transient job failure). Each
 * backend decides, at its own boundary and from error codes (never message text), which of its
 * errors mean that; everything else passes through unchanged.
 */
export function storeUnavailable(cause: unknown, backend: 'postgres' | 'sqlite'): DeckhandError {
  const code = (cause as { code?: unknown } | null)?.code;
  // The cause's own message stays on the cause (logs show it), out of what HTTP clients are told.
  return new DeckhandError(
    ErrorCode.StoreUnavailable,
    `The ${backend === 'postgres' ? 'PostgreSQL' : 'SQLite'} database is unavailable just now${typeof code === 'string' ? ` (${code})` : ''}; try again shortly.`,
    { backend, ...(typeof code === 'string' ? { code } : {}) },
    { cause },
  );
}

export function isStoreUnavailable(err: unknown): boolean {
  return isDeckhandError(err, ErrorCode.StoreUnavailable);
}

/**
 * `err` as E_STORE_UNAVAILABLE when `unavailable(err)` says so; otherwise `err` itself (a
 * DeckhandError already is what it is).
 */
export function markStoreError(err: unknown, unavailable: (err: unknown) => boolean, backend: 'postgres' | 'sqlite'): unknown {
  if (err instanceof DeckhandError) return err;
  return unavailable(err) ? storeUnavailable(err, backend) : err;
}

/** How long a client is asked to wait before trying again (Retry-After, seconds). */
export const storeRetryAfterSeconds = 5;
