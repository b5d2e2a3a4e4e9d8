import { ErrorCode, isDeckhandError } from '../core/errors.js';

/**
 * permanent: the same job, run again unchanged, would fail the same way (invalid input, refused
 * by policy, missing thing): retrying only delays the dead letter. transient: it may well work
 * later (network, a server error, a timeout, a script that failed).
 */
export type FailureKind = 'permanent' | 'transient';

/**
 * Every code must be decided here (the Record is exhaustive), so a new code cannot slip through.
 * 'status': it depends on what the other system answered (details.status).
 *
 * Locks count as permanent: a lock is a person's deliberate "not now", chat deployments are
 * refused (not queued) by it too, and the retry window (seconds to a minute) is far shorter than
 * a typical lock; retrying would only deploy at an arbitrary moment if it ended just then.
 * Failed pre-deploy checks are a refusal as well: someone fixes the cause or uses deploy!.
 * Script failures and E_INTERNAL stay transient: nothing says what went wrong, so they keep the
 * retries they always had. E_STORE_UNAVAILABLE (the database went away or was busy) is transient:
 * it is expected to come back.
 */
const kindByCode: Readonly<Record<ErrorCode, FailureKind | 'status'>> = {
  E_CONFIG_INVALID: 'permanent',
  E_ENV_INVALID: 'permanent',
  E_COMMAND_LOAD: 'permanent',
  E_COMMAND_CONFLICT: 'permanent',
  E_UNKNOWN_COMMAND: 'permanent',
  E_USAGE: 'permanent',
  E_UNKNOWN_APP: 'permanent',
  E_UNKNOWN_ENVIRONMENT: 'permanent',
  E_FORBIDDEN: 'permanent',
  E_ROOM_NOT_ALLOWED: 'permanent',
  E_ENV_LOCKED: 'permanent',
  E_LOCK_HELD: 'permanent',
  E_NOT_LOCKED: 'permanent',
  E_CHECK_FAILED: 'permanent',
  E_RELEASE_EXISTS: 'permanent',
  E_NOTHING_TO_ROLLBACK: 'permanent',
  E_SCRIPT_TIMEOUT: 'transient',
  E_SCRIPT_FAILED: 'transient',
  E_SCRIPT_NOT_FOUND: 'permanent',
  E_INTERPRETER_MISSING: 'permanent',
  E_CONFLICT: 'permanent',
  E_UPSTREAM: 'status',
  E_NOT_FOUND: 'permanent',
  E_TEMPLATE: 'permanent',
  E_STORE_UNAVAILABLE: 'transient',
  E_INTERNAL: 'transient',
};

/**
 * An HTTP answer from another system: a 4xx other than 408 (request timeout) and 429 (too many
 * requests) says the request itself is wrong, and so does a 3xx (redirects are not followed).
 * 5xx, 408, 429, no answer at all (status 0) or an unknown status may pass.
 */
export function classifyStatus(status: unknown): FailureKind {
  if (typeof status !== 'number') return 'transient';
  return status >= 300 && status < 500 && status !== 408 && status !== 429 ? 'permanent' : 'transient';
}

/** Whether a job that threw `err` is worth another attempt. Anything that is not a DeckhandError is transient. */
export function classifyError(err: unknown): FailureKind {
  if (!isDeckhandError(err)) return 'transient';
  const kind = kindByCode[err.code];
  return kind === 'status' ? classifyStatus(err.details.status) : kind;
}
