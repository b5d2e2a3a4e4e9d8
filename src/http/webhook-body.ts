import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** Compares secrets in constant time (for equal lengths; a length difference is not secret). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * How deeply arrays and objects may nest in a JSON body. V8 parses any depth, but the code after
 * it recurses (JSON.stringify when a delivery is stored, the logger, templates): a few thousand
 * levels overflow the stack and became a 500. Real payloads stay far below 64 — GitHub's deepest
 * are about 10 levels, Octopus's and Slack's fewer — so 64 refuses nothing genuine and leaves
 * every recursive consumer a wide margin.
 */
export const maxJsonDepth = 64;

/**
 * Whether arrays and objects in a JSON text nest deeper than `limit`. One pass over the text, no
 * recursion (a recursive walk would overflow on the very input it guards against): brackets count
 * only outside strings. A string is skipped in one jump to its closing quote (indexOf: most of a
 * webhook's bytes are inside strings, so this is what keeps the check cheap); a quote preceded by
 * an odd number of backslashes is escaped and does not close it, so `"\""` and `"\\"` end where
 * JSON says they do. An unterminated string ends the scan: JSON.parse reports that text.
 */
export function jsonNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && escapedAt(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return false;
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** Whether the quote at `at` is escaped: an odd run of backslashes right before it. */
function escapedAt(text: string, at: number): boolean {
  let slashes = 0;
  while (at - 1 - slashes >= 0 && text.charCodeAt(at - 1 - slashes) === 0x5c) slashes++;
  return slashes % 2 === 1;
}

/** The 400 for a body that nests too deeply: the client's to fix, so it says what to change. */
export function tooDeepMessage(what = 'the JSON body'): string {
  return `${what} nests arrays and objects more than ${maxJsonDepth} levels deep: flatten it`;
}

/**
 * A parsed body; `text` is the JSON text it was parsed from (the body, or its `payload=` field),
 * for the store to keep as is rather than serialise the parsed value a second time.
 */
type Parsed = { ok: true; body: unknown; text?: string } | { ok: false; status: 400 | 415; error: string };

/** JSON.parse behind the depth check; `where` names the part of the body in error messages. */
function parseJson(text: string, where: { what: string; malformed: string }): Parsed {
  if (jsonNestsDeeperThan(text, maxJsonDepth)) return { ok: false, status: 400, error: tooDeepMessage(where.what) };
  try {
    return { ok: true, body: JSON.parse(text) as unknown, text };
  } catch (err) {
    return { ok: false, status: 400, error: `${where.malformed}: ${(err as Error).message}` };
  }
}

/** Parses JSON or form bodies; anything else is refused. */
export function parseBody(contentType: string, raw: Buffer, options: { formPayloadField?: string } = {}): Parsed {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (raw.length === 0) return { ok: true, body: {} };
  if (type === 'application/json' || type.endsWith('+json')) {
    return parseJson(raw.toString('utf8'), { what: 'the JSON body', malformed: 'malformed JSON' });
  }
  if (type === 'application/x-www-form-urlencoded') {
    const fields: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) Object.defineProperty(fields, k, { value: v, enumerable: true, writable: true, configurable: true });
    // Some senders (GitHub) put the whole JSON document in one form field, `payload=`.
    const field = options.formPayloadField;
    if (field === undefined) return { ok: true, body: fields };
    if (typeof fields[field] !== 'string') return { ok: false, status: 400, error: `form body without a "${field}" field` };
    return parseJson(fields[field], { what: `the JSON in the "${field}" field`, malformed: `malformed JSON in the "${field}" field` });
  }
  return { ok: false, status: 415, error: `unsupported content type "${type || '(none)'}": send application/json or application/x-www-form-urlencoded` };
}

/**
 * Inside an encapsulated Fastify scope: keep request bodies as raw bytes (signatures are
 * computed over them; the route parses them itself), up to `bodyLimit` bytes (413 beyond).
 */
export function keepRawBodies(scope: FastifyInstance, bodyLimit = 1024 * 1024): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
}

const credentialHeaders = new Set(['authorization', 'x-api-key', 'cookie', 'proxy-authorization']);

/** The string headers of a request without credentials: what is stored with a delivery. */
export function withoutCredentials(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => typeof e[1] === 'string' && !credentialHeaders.has(e[0].toLowerCase())));
}
