/**
 * Errors carry a stable code; chat replies and HTTP statuses are derived from the code,
 * never from message text.
 */
export const ErrorCode = {
  ConfigInvalid: 'E_CONFIG_INVALID',
  EnvInvalid: 'E_ENV_INVALID',
  CommandLoad: 'E_COMMAND_LOAD',
  CommandConflict: 'E_COMMAND_CONFLICT',
  UnknownCommand: 'E_UNKNOWN_COMMAND',
  Usage: 'E_USAGE',
  UnknownApp: 'E_UNKNOWN_APP',
  UnknownEnvironment: 'E_UNKNOWN_ENVIRONMENT',
  Forbidden: 'E_FORBIDDEN',
  RoomNotAllowed: 'E_ROOM_NOT_ALLOWED',
  EnvLocked: 'E_ENV_LOCKED',
  LockHeld: 'E_LOCK_HELD',
  NotLocked: 'E_NOT_LOCKED',
  CheckFailed: 'E_CHECK_FAILED',
  ReleaseExists: 'E_RELEASE_EXISTS',
  NothingToRollback: 'E_NOTHING_TO_ROLLBACK',
  ScriptTimeout: 'E_SCRIPT_TIMEOUT',
  ScriptFailed: 'E_SCRIPT_FAILED',
  ScriptNotFound: 'E_SCRIPT_NOT_FOUND',
  InterpreterMissing: 'E_INTERPRETER_MISSING',
  Conflict: 'E_CONFLICT',
  /** Another system (GitHub, Octopus, Splunk On-Call) refused or failed a request Deckhand made. */
  Upstream: 'E_UPSTREAM',
  NotFound: 'E_NOT_FOUND',
  /** A reaction's template could not be rendered for this event (syntax, output or time limit). */
  Template: 'E_TEMPLATE',
  /** The store (database) cannot be reached or is too busy just now; set at the store boundary, never from message text. */
  StoreUnavailable: 'E_STORE_UNAVAILABLE',
  Internal: 'E_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class DeckhandError extends Error {
  readonly code: ErrorCode;
  /** Structured details, safe to show to the user who caused the error. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeckhandError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}

export function isDeckhandError(err: unknown, code?: ErrorCode): err is DeckhandError {
  return err instanceof DeckhandError && (code === undefined || err.code === code);
}

/** Normalise anything thrown into a DeckhandError, keeping the original as the cause. */
export function asDeckhandError(err: unknown): DeckhandError {
  if (err instanceof DeckhandError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DeckhandError(ErrorCode.Internal, message, {}, { cause: err });
}

const httpStatusByCode: Partial<Record<ErrorCode, number>> = {
  E_USAGE: 400,
  E_UNKNOWN_COMMAND: 400,
  E_UNKNOWN_APP: 404,
  E_UNKNOWN_ENVIRONMENT: 404,
  E_NOT_FOUND: 404,
  E_FORBIDDEN: 403,
  E_ROOM_NOT_ALLOWED: 403,
  E_ENV_LOCKED: 409,
  E_LOCK_HELD: 409,
  E_CONFLICT: 409,
  E_RELEASE_EXISTS: 409,
  E_NOT_LOCKED: 409,
  E_CHECK_FAILED: 412,
  E_NOTHING_TO_ROLLBACK: 409,
  E_UPSTREAM: 502,
  E_STORE_UNAVAILABLE: 503,
};

export function httpStatusFor(err: DeckhandError): number {
  return httpStatusByCode[err.code] ?? 500;
}
