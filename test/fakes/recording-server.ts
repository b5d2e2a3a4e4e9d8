/**
 * A tiny HTTP server on 127.0.0.1 that records every request and answers as told, for tests
 * of code that calls out over HTTP (reactions, webhooks):
 *
 *   const server = await startRecordingServer();
 *   server.failNext(1, 503, { 'retry-after': '1' });   // then the default 200 {}
 *   await sendHttpRequest({ method: 'POST', url: `${server.url}/events`, json: { a: 1 } });
 *   expect(server.requests[1]?.json).toEqual({ a: 1 });
 *   await server.close();
 *
 * Injected faults (failNext, hangNext) are queued in the order they were asked for and are
 * used before the handler. A request is recorded once its whole body has arrived, before it is
 * answered (hung requests are recorded too).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v2/events`. */
  path: string;
  /** Decoded query parameters (the last value wins for repeated names). */
  query: Record<string, string>;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  /** The parsed body, present only when the content type is JSON and the body parses. */
  json?: unknown;
}

export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export type ResponseHandler = (req: RecordedRequest) => CannedResponse | Promise<CannedResponse>;

export interface RecordingServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Answers every later request (after any injected faults). Default: 200 `{}`. */
  respond(handler: ResponseHandler): void;
  /** The next n requests get `status` with a small JSON error body. */
  failNext(n: number, status: number, headers?: Record<string, string>): void;
  /** The next n requests are never answered (for timeouts); their sockets stay open until close(). */
  hangNext(n: number): void;
  /** Drops every connection (hung ones included) and stops listening. */
  close(): Promise<void>;
}

const defaultHandler: ResponseHandler = () => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: '{}',
});

type Fault = { kind: 'fail'; status: number; headers: Record<string, string> } | { kind: 'hang' };

export async function startRecordingServer(): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  let handler = defaultHandler;

  const server = createServer((req, res) => {
    // A client that gives up (timeouts, truncated reads) must not crash the test run.
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `recording server: ${message}` }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const recorded = await record(req);
    requests.push(recorded);

    const fault = faults.shift();
    if (fault?.kind === 'hang') return;
    const answer: CannedResponse =
      fault?.kind === 'fail'
        ? {
            status: fault.status,
            headers: { 'content-type': 'application/json', ...fault.headers },
            body: JSON.stringify({ error: `injected ${fault.status}` }),
          }
        : await handler(recorded);

    if (res.destroyed) return;
    res.writeHead(answer.status, answer.headers ?? {});
    res.end(answer.body ?? '');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respond(next) {
      handler = next;
    },
    failNext(n, status, headers = {}) {
      for (let i = 0; i < n; i++) faults.push({ kind: 'fail', status, headers });
    },
    hangNext(n) {
      for (let i = 0; i < n; i++) faults.push({ kind: 'hang' });
    },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');

  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }

  const recorded: RecordedRequest = {
    method: req.method ?? '',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    body,
  };
  if (isJson(headers['content-type']) && body !== '') {
    try {
      recorded.json = JSON.parse(body);
    } catch {
      // Not valid JSON: the raw body is still recorded.
    }
  }
  return recorded;
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}
