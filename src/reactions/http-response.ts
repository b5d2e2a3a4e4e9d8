// Reading responses and failures of outgoing HTTP requests (see http-request.ts): network error
// descriptions, Retry-After, and bounded, redacted response bodies.
import type { Dispatcher } from 'undici';
import type { Redactor } from '../providers/script/redact.js';

/** Response bodies kept in results, in bytes. */
export const MAX_BODY_BYTES = 4096;
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

// Duck-typed rather than instanceof: errors from another realm (jest's VM, worker threads) are
// not instances of this realm's Error.
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  return String(err);
}

/** Happy eyeballs reports every address it tried in an AggregateError; the first one says enough. */
function innermost(err: unknown): unknown {
  if (typeof err === 'object' && err !== null && 'errors' in err && Array.isArray(err.errors) && err.errors.length > 0) {
    return err.errors[0] as unknown;
  }
  return err;
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server while sending',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed (temporarily)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response headers',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the response body',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  UND_ERR_CLOSED: 'the HTTP client was closed',
  UND_ERR_DESTROYED: 'the HTTP client was destroyed',
};

export function describeNetworkError(err: unknown): string {
  const inner = innermost(err);
  const code = errorCode(inner) ?? errorCode(err);
  const message = errorMessage(inner);
  const summary = code === undefined ? undefined : NETWORK_ERRORS[code];
  if (summary === undefined) return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
  return message === '' ? summary : `${summary} (${message})`;
}

/** On 429 and 503 the server may say when to come back: delta-seconds or an HTTP date. */
export function retryAfterFor(status: number, headers: Dispatcher.ResponseData['headers']): number | null {
  if (status !== 429 && status !== 503) return null;
  const raw = headers['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - Date.now());
}

// ---------------------------------------------------------------------------------------------
// Response body

export type BodyReader = (body: Dispatcher.ResponseData['body']) => Promise<string>;

/**
 * Reads at most MAX_BODY_BYTES (plus the longest secret, so one straddling the cut is still seen
 * whole and redacted), then destroys the stream so the socket is released however big the body.
 */
export function createBodyReader(secrets: readonly string[], redact: Redactor): BodyReader {
  const longestSecret = secrets.reduce((max, s) => Math.max(max, Buffer.byteLength(s)), 0);
  const window = MAX_BODY_BYTES + longestSecret;

  return async (body) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let complete = false;
    try {
      for await (const chunk of body) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        chunks.push(buf);
        size += buf.length;
        if (size > window) break;
      }
      complete = size <= window;
    } catch {
      // Timed out or broken mid-body: keep what arrived.
    } finally {
      body.destroy();
    }

    const raw = Buffer.concat(chunks).subarray(0, window);
    const cut = !complete;
    // A cut stream may end in the first bytes of a character, or of a secret: drop both.
    let text = cut ? decodeWhole(raw) : raw.toString('utf8');
    if (cut) text = stripSecretPrefixSuffix(text, secrets);
    return truncateUtf8(redact(text), MAX_BODY_BYTES);
  };
}

/** Decodes, leaving out a trailing incomplete UTF-8 sequence instead of turning it into U+FFFD. */
function decodeWhole(buf: Buffer): string {
  return new TextDecoder('utf-8').decode(buf, { stream: true });
}

function truncateUtf8(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= maxBytes ? text : decodeWhole(buf.subarray(0, maxBytes));
}

/** Removes the longest end of `text` that is the beginning (not the whole) of some secret. */
function stripSecretPrefixSuffix(text: string, secrets: readonly string[]): string {
  let strip = 0;
  for (const secret of secrets) {
    for (let k = Math.min(secret.length - 1, text.length); k > strip; k--) {
      if (text.endsWith(secret.slice(0, k))) {
        strip = k;
        break;
      }
    }
  }
  return strip === 0 ? text : text.slice(0, text.length - strip);
}
