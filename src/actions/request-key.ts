import { createHash } from 'node:crypto';
import { DeckhandError, ErrorCode, isDeckhandError } from '../core/errors.js';
import type { RequestKey } from '../core/model.js';

/**
 * Idempotency for the actions that make something (deploy, create release): a request that carries
 * a key (a reaction step's run id, an API caller's Idempotency-Key) is recorded with what it made
 * (Store: NewDeployment.request, NewRelease.request), so a repeat — a re-run after a kill -9, a
 * client retrying after a lost answer — gets the first result instead of a second one.
 */

/** JSON with object keys sorted, so the same request always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The key as recorded, with the hash of what was asked (the action, who asked, the validated input). */
export function requestKeyFor(key: string, action: string, actor: string, input: unknown): RequestKey {
  return { key, hash: createHash('sha256').update(canonical({ action, actor, input })).digest('hex') };
}

/** True for the store's refusal of a key used before (a concurrent request with the same key won). */
export function isRequestKeyUsed(err: unknown, request: RequestKey): boolean {
  return isDeckhandError(err, ErrorCode.Conflict) && err.details.requestKey === request.key;
}

/** A key used before for a different request: refused, naming what the first one made. */
export function keyReused(made: string, details: Record<string, unknown>): DeckhandError {
  return new DeckhandError(ErrorCode.Conflict, `This idempotency key was first used for a different request, which made ${made}; send a new key with a new request.`, { ...details, idempotencyKeyReused: true });
}
