import type { IncomingHttpHeaders } from 'node:http';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Actor } from '../core/permissions.js';

/** What an Idempotency-Key may be: 1 to 255 visible ASCII characters (a UUID, a run id such as $DECKHAND_RUN_ID). */
const validKey = /^[\x21-\x7e]{1,255}$/;

/**
 * The request key of a POST to /api/v1 that sends `Idempotency-Key` (as in the IETF draft
 * "The Idempotency-Key HTTP Header Field"), scoped to the caller, so two callers' keys never meet;
 * undefined without the header. A malformed or repeated header is E_USAGE (400).
 */
export function idempotencyKeyOf(headers: IncomingHttpHeaders, actor: Actor): string | undefined {
  const value = headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (Array.isArray(value) || !validKey.test(value)) {
    throw new DeckhandError(ErrorCode.Usage, 'Idempotency-Key must be one header of 1 to 255 visible ASCII characters (a UUID, or $DECKHAND_RUN_ID in a reaction script).');
  }
  return `api:${actor.id}:${value}`;
}
