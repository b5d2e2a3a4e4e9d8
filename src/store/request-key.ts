import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Deployment, Release } from '../core/model.js';

/**
 * What both backends throw when a request's idempotency key (migration 13) was used before:
 * E_CONFLICT whose details name the key and what its first request made, so the action layer can
 * answer a repeat with that first result.
 */
export function requestKeyUsed(key: string, made: { deployment: Deployment } | { release: Release }): DeckhandError {
  return new DeckhandError(ErrorCode.Conflict, `The request key ${key} was used before.`, { requestKey: key, ...made });
}
