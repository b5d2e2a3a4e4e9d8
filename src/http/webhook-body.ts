import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** Compares secrets in constant time (for equal lengths; a length difference is not secret). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Parses JSON or form bodies; anything else is refused. */
export function parseBody(contentType: string, raw: Buffer, options: { formPayloadField?: string } = {}): { ok: true; body: unknown } | { ok: false; status: 400 | 415; error: string } {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (raw.length === 0) return { ok: true, body: {} };
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return { ok: true, body: JSON.parse(raw.toString('utf8')) as unknown };
    } catch (err) {
      return { ok: false, status: 400, error: `malformed JSON: ${(err as Error).message}` };
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const fields: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) Object.defineProperty(fields, k, { value: v, enumerable: true, writable: true, configurable: true });
    // Some senders (GitHub) put the whole JSON document in one form field, `payload=`.
    const field = options.formPayloadField;
    if (field === undefined) return { ok: true, body: fields };
    if (typeof fields[field] !== 'string') return { ok: false, status: 400, error: `form body without a "${field}" field` };
    try {
      return { ok: true, body: JSON.parse(fields[field]) as unknown };
    } catch (err) {
      return { ok: false, status: 400, error: `malformed JSON in the "${field}" field: ${(err as Error).message}` };
    }
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
