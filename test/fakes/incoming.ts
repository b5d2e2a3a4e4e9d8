import type { IncomingMessage } from 'node:http';

/** What the fakes record of a request: method, path, query, lower-cased headers, the body (JSON when it parses), and the status it got. */
export interface RecordedCall {
  method: string;
  /** Path without the query string, e.g. `/repos/acme/api/deployments`. */
  path: string;
  query: Record<string, string>;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Parsed JSON body; undefined when none was sent; the raw text when it is not JSON. */
  body: unknown;
  /** The status the fake answered with (0: it dropped the connection). */
  status: number;
}

/** Reads a whole request into a RecordedCall (status 0 until answered), keeping the raw body too. */
export async function readIncoming(req: IncomingMessage, baseUrl: string): Promise<{ call: RecordedCall; rawBody: string }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', baseUrl);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  let body: unknown;
  if (rawBody.trim() !== '') {
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = rawBody;
    }
  }
  return { call: { method: (req.method ?? 'GET').toUpperCase(), path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body, status: 0 }, rawBody };
}
