/**
 * Sends one outgoing HTTP request for a reaction (a deployment marker, a chat-ops event, a
 * change event...), already rendered from its templates.
 *
 * - Retries network errors, timeouts, 5xx, 408 and 429 with exponential backoff and full jitter;
 *   a 429/503 with Retry-After waits as long as the server asks (capped by maxDelayMs).
 *   Other 4xx (and 3xx: redirects are not followed) are final.
 * - httpFailure turns a result that is not ok into an E_UPSTREAM error carrying the last status,
 *   which tells the job worker whether the whole run is worth retrying.
 * - The result is ok only for a 2xx answer: a request that was never answered, or answered
 *   with an error, is never reported as sent.
 * - Delivery failures are reported in the result (per-attempt errors), not thrown. Only a
 *   request that cannot be sent at all (bad URL, bad header, body that is not JSON) throws
 *   a DeckhandError (E_USAGE).
 * - Results and errors get logged and stored, so every configured secret value is redacted
 *   from the response body and from every error message.
 */
import { STATUS_CODES } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { createRedactor, type Redactor } from '../providers/script/redact.js';
import { createBodyReader, describeNetworkError, errorCode, errorMessage, MAX_BODY_BYTES, retryAfterFor, type BodyReader } from './http-response.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequestSpec {
  method: HttpMethod;
  url: string;
  /** Header names are case-insensitive: `Content-Type` and `content-type` are the same header (the last one wins). */
  headers?: Record<string, string>;
  /** Sent as JSON, with `content-type: application/json` unless a content type is set. Exclusive with `body`. */
  json?: unknown;
  body?: string;
  /** Per attempt, covering connecting, the response headers and reading the (truncated) body. Default 10000. */
  timeoutMs?: number;
  /**
   * Sent as the `Idempotency-Key` header on every attempt of a POST or PATCH (the methods that are
   * not idempotent; the IETF draft "The Idempotency-Key HTTP Header Field" is for those), so the
   * receiver can tell a retry from a new request. Never on GET, PUT or DELETE (idempotent already),
   * and never instead of an Idempotency-Key the headers set themselves (any case).
   */
  idempotencyKey?: string;
}

export interface RetryPolicy {
  /** Total attempts, including the first. Default 4. */
  attempts: number;
  /** Default 500. */
  baseDelayMs: number;
  /** Caps both the backoff and a server's Retry-After. Default 30000. */
  maxDelayMs: number;
}

export interface HttpAttempt {
  /** 1-based. */
  attempt: number;
  /** The response status; null when no response arrived (network error, timeout). */
  status: number | null;
  /** Why this attempt failed (redacted); null exactly when it succeeded (2xx). */
  error: string | null;
  durationMs: number;
}

export interface HttpResult {
  /** True only when the last attempt got a 2xx answer. */
  ok: boolean;
  /** The last attempt's status; null when it got no response. */
  status: number | null;
  /** The first 4 KiB of the last response body (redacted); '' when there was none. */
  body: string;
  attempts: HttpAttempt[];
}

export interface SendHttpRequestOptions {
  retry?: Partial<RetryPolicy>;
  /** undici dispatcher (an Agent, a ProxyAgent, a MockAgent in tests); defaults to undici's global one. */
  dispatcher?: Dispatcher;
  /** Waits between attempts; injectable so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Returns [0, 1); injectable for deterministic jitter. */
  random?: () => number;
  /** Values to redact from the result body and from every error message. */
  secrets?: readonly string[];
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 });
export const DEFAULT_TIMEOUT_MS = 10_000;
/** How much of a response body is kept. */
export { MAX_BODY_BYTES };

const METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** setTimeout's limit; longer values fire immediately. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** RFC 9110 token characters, the only ones allowed in a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Header values may not contain CR, LF or NUL (request smuggling). */
const BAD_HEADER_VALUE = /[\r\n\0]/;
/** The methods that get an Idempotency-Key: the ones RFC 9110 does not define as idempotent. */
const NON_IDEMPOTENT: ReadonlySet<HttpMethod> = new Set<HttpMethod>(['POST', 'PATCH']);

interface PreparedRequest {
  method: HttpMethod;
  url: URL;
  /** For messages: the URL without any password, not yet redacted. */
  displayUrl: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
}

type AttemptOutcome =
  | { kind: 'response'; status: number; retryAfterMs: number | null; body: string }
  | { kind: 'error'; message: string; retryable: boolean };

export async function sendHttpRequest(spec: HttpRequestSpec, options: SendHttpRequestOptions = {}): Promise<HttpResult> {
  const secrets = options.secrets ?? [];
  const redact = createRedactor(secrets);
  const prepared = prepare(spec, redact);
  const policy = retryPolicy(options.retry);
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const random = options.random ?? Math.random;
  const bodyReader = createBodyReader(secrets, redact);

  const attempts: HttpAttempt[] = [];
  let last: AttemptOutcome | undefined;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    const started = performance.now();
    last = await attemptOnce(prepared, options.dispatcher, bodyReader, redact);
    const durationMs = Math.round(performance.now() - started);

    if (last.kind === 'response') {
      const ok = isSuccess(last.status);
      attempts.push({ attempt, status: last.status, error: ok ? null : statusText(last.status), durationMs });
      if (ok || !isRetryableStatus(last.status)) break;
    } else {
      attempts.push({ attempt, status: null, error: last.message, durationMs });
      if (!last.retryable) break;
    }
    if (attempt === policy.attempts) break;

    const retryAfterMs = last.kind === 'response' ? last.retryAfterMs : null;
    await sleep(retryAfterMs !== null ? Math.min(retryAfterMs, policy.maxDelayMs) : backoffDelay(attempt, policy, random));
  }

  if (last?.kind === 'response') {
    return { ok: isSuccess(last.status), status: last.status, body: last.body, attempts };
  }
  return { ok: false, status: null, body: '', attempts };
}

/** Full jitter: a uniformly random wait up to the exponential ceiling for this attempt. */
function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(r * ceiling);
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The error for a request that was not answered with a 2xx; details.status is 0 when no answer came. */
export function httpFailure(method: HttpMethod, result: HttpResult): DeckhandError {
  const last = result.attempts.at(-1);
  return new DeckhandError(ErrorCode.Upstream, `HTTP ${method} failed after ${result.attempts.length} attempts: ${last?.error ?? `status ${result.status}`}`, {
    status: result.status ?? 0,
    attempts: result.attempts.length,
  });
}

function statusText(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
}

// ---------------------------------------------------------------------------------------------
// Validation

function usage(message: string, redact: Redactor, details: Record<string, unknown> = {}): DeckhandError {
  return new DeckhandError(ErrorCode.Usage, redact(message), details);
}

function prepare(spec: HttpRequestSpec, redact: Redactor): PreparedRequest {
  const method = spec.method;
  if (!METHODS.has(method)) {
    throw usage(`HTTP method must be one of ${[...METHODS].join(', ')}, not ${JSON.stringify(String(method))}`, redact);
  }

  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw usage(`not a valid URL (an absolute http:// or https:// URL is needed): ${JSON.stringify(String(spec.url))}`, redact);
  }
  const displayUrl = withoutPassword(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usage(`only http:// and https:// URLs can be requested, not ${url.protocol}// (${displayUrl})`, redact, {
      protocol: url.protocol,
    });
  }

  const headers = mergeHeaders(spec.headers ?? {}, redact);
  if (spec.idempotencyKey !== undefined && NON_IDEMPOTENT.has(method)) {
    if (spec.idempotencyKey === '' || BAD_HEADER_VALUE.test(spec.idempotencyKey)) throw usage('the Idempotency-Key must be a non-empty value without line breaks or NUL', redact);
    // The reaction's own header wins: it may carry a key the receiver already knows.
    headers['idempotency-key'] ??= spec.idempotencyKey;
  }

  const hasJson = spec.json !== undefined;
  if (hasJson && spec.body !== undefined) {
    throw usage(`${method} ${displayUrl}: give either json or body, not both`, redact);
  }
  let body: string | undefined = spec.body;
  if (hasJson) {
    body = stringifyJson(spec.json, `${method} ${displayUrl}`, redact);
    headers['content-type'] ??= 'application/json';
  }

  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw usage(`timeoutMs must be a positive number of milliseconds, not ${String(timeoutMs)}`, redact);
  }

  return { method, url, displayUrl, headers, body, timeoutMs: Math.min(timeoutMs, MAX_TIMER_MS) };
}

/** Lower-cases the names so differently-cased duplicates merge (the last one wins). */
function mergeHeaders(input: Record<string, string>, redact: Redactor): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!HEADER_NAME.test(name)) throw usage(`invalid HTTP header name ${JSON.stringify(name)}`, redact);
    // The value is deliberately left out of the message: it is often a credential.
    if (typeof value !== 'string') throw usage(`HTTP header ${name} must be a string`, redact);
    if (BAD_HEADER_VALUE.test(value)) throw usage(`HTTP header ${name} contains a line break or NUL`, redact);
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

function stringifyJson(value: unknown, what: string, redact: Redactor): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value) as string | undefined;
  } catch (err) {
    throw usage(`${what}: the json body cannot be serialised: ${errorMessage(err)}`, redact);
  }
  if (text === undefined) throw usage(`${what}: the json body cannot be serialised (${typeof value})`, redact);
  return text;
}

function withoutPassword(url: URL): string {
  if (url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

function retryPolicy(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy: RetryPolicy = {
    attempts: partial?.attempts ?? DEFAULT_RETRY_POLICY.attempts,
    baseDelayMs: partial?.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: partial?.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
  };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new DeckhandError(ErrorCode.Usage, `retry attempts must be a whole number of at least 1, not ${policy.attempts}`);
  }
  for (const key of ['baseDelayMs', 'maxDelayMs'] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] < 0) {
      throw new DeckhandError(ErrorCode.Usage, `retry ${key} must be a non-negative number, not ${policy[key]}`);
    }
  }
  return policy;
}

// ---------------------------------------------------------------------------------------------
// One attempt

async function attemptOnce(
  req: PreparedRequest,
  dispatcher: Dispatcher | undefined,
  readBody: BodyReader,
  redact: Redactor,
): Promise<AttemptOutcome> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${req.timeoutMs} ms`));
  }, req.timeoutMs);

  try {
    let response: Dispatcher.ResponseData;
    try {
      // undici is loaded on a reaction's first http step, not at start.
      const { request } = await import('undici');
      response = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: controller.signal,
        ...(dispatcher ? { dispatcher } : {}),
      });
    } catch (err) {
      if (timedOut) return { kind: 'error', message: `timed out after ${req.timeoutMs} ms`, retryable: true };
      const code = errorCode(err);
      if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
        // undici refused to send it (e.g. a header it does not allow): retrying cannot help.
        const message = redact(`${req.method} ${req.displayUrl}: ${errorMessage(err)}`);
        // No cause: it would carry the unredacted request into logs.
        throw new DeckhandError(ErrorCode.Usage, message);
      }
      // A closed or destroyed dispatcher fails the same way every time.
      const retryable = code !== 'UND_ERR_CLOSED' && code !== 'UND_ERR_DESTROYED';
      return { kind: 'error', message: redact(describeNetworkError(err)), retryable };
    }

    const status = response.statusCode;
    // Even when the body times out or breaks, the status stands: for a 2xx the server took the
    // request, and retrying it could send the event twice.
    const body = await readBody(response.body);
    return { kind: 'response', status, retryAfterMs: retryAfterFor(status, response.headers), body };
  } finally {
    clearTimeout(timer);
  }
}
