import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** `*` matches any method; otherwise ignoring case. */
export function matchesMethod(expected: string, actual: string): boolean {
  return expected === '*' || expected.toUpperCase() === actual.toUpperCase();
}

/** RegExp.test without the `g` flag's memory between calls. */
export function testPattern(pattern: RegExp, path: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(path);
}

interface Waiter<C> {
  matches: (call: C) => boolean;
  resolve: (call: C) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** The calls a fake received, in order, and promises for calls still to come. */
export class CallLog<C extends RecordedCall = RecordedCall> {
  readonly calls: C[] = [];
  private readonly waiters = new Set<Waiter<C>>();

  /** `name` appears in timeout errors ("fake GitHub: no POST ... call within ..."). */
  constructor(private readonly name: string) {}

  record(call: C): void {
    this.calls.push(call);
    for (const waiter of [...this.waiters]) {
      if (!waiter.matches(call)) continue;
      this.waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(call);
    }
  }

  callsTo = (method: string, pathPattern: RegExp): C[] => this.calls.filter((call) => matchesMethod(method, call.method) && testPattern(pathPattern, call.path));

  /** The first call (past or future) matching; rejects after `timeoutMs` listing the calls so far. */
  waitForCall = (method: string, pathPattern: RegExp, predicate: (call: C) => boolean = () => true, timeoutMs = 5000): Promise<C> => {
    const matches = (call: C) => matchesMethod(method, call.method) && testPattern(pathPattern, call.path) && predicate(call);
    const seen = this.calls.find(matches);
    if (seen) return Promise.resolve(seen);
    return new Promise<C>((resolve, reject) => {
      const waiter: Waiter<C> = {
        matches,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const so = this.calls.map((c) => `${c.method} ${c.path} → ${c.status}`).join('\n  ') || '(none)';
          reject(new Error(`${this.name}: no ${method} ${String(pathPattern)} call within ${timeoutMs} ms; calls so far:\n  ${so}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  };

  /** Rejects every pending wait (the fake is closing). */
  close(): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`${this.name} closed`));
    }
    this.waiters.clear();
  }
}

/** Listens on 127.0.0.1 at a free port; resolves with the base URL (no trailing slash). */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
