import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, MockAgent } from 'undici';
import { DeckhandError, ErrorCode } from '../../../src/core/errors.js';
import { sendHttpRequest, type HttpRequestSpec } from '../../../src/reactions/http-request.js';
import { startRecordingServer, type RecordingServer } from '../../fakes/recording-server.js';

let server: RecordingServer;
let agent: Agent;
/** Every wait the code under test asked for; nothing actually waits. */
let slept: number[];

const sleep = async (ms: number): Promise<void> => {
  slept.push(ms);
};
const half = (): number => 0.5;

function send(spec: Partial<HttpRequestSpec> & { url: string }, options: Parameters<typeof sendHttpRequest>[1] = {}) {
  return sendHttpRequest({ method: 'POST', timeoutMs: 1000, ...spec }, { dispatcher: agent, sleep, random: half, ...options });
}

beforeAll(() => {
  agent = new Agent({ keepAliveTimeout: 1000 });
});
afterAll(async () => {
  await agent.close();
});
beforeEach(async () => {
  server = await startRecordingServer();
  slept = [];
});
afterEach(async () => {
  await server.close();
});

async function rejection(promise: Promise<unknown>): Promise<DeckhandError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeckhandError);
  return err as DeckhandError;
}

describe('the request sent', () => {
  test('method, path, query, headers and JSON body arrive exactly', async () => {
    const result = await send({
      method: 'PUT',
      url: `${server.url}/v2/applications/42/deployments.json?verbose=1&env=prod`,
      headers: { 'X-Api-Key': 'k-123', 'x-api-key': 'k-456', Accept: 'application/json' },
      json: { deployment: { revision: 'abc123', user: 'ada', tags: ['a', 'b'] } },
    });

    expect(result).toMatchObject({ ok: true, status: 200, body: '{}' });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.method).toBe('PUT');
    expect(req.path).toBe('/v2/applications/42/deployments.json');
    expect(req.query).toEqual({ verbose: '1', env: 'prod' });
    // Header names merge case-insensitively: the last spelling wins, sent once.
    expect(req.headers['x-api-key']).toBe('k-456');
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toBe('{"deployment":{"revision":"abc123","user":"ada","tags":["a","b"]}}');
    expect(req.json).toEqual({ deployment: { revision: 'abc123', user: 'ada', tags: ['a', 'b'] } });
  });

  test('a content type set by the spec (in any case) is kept for JSON', async () => {
    await send({ url: `${server.url}/e`, headers: { 'Content-Type': 'application/vnd.api+json' }, json: [1] });
    expect(server.requests[0]!.headers['content-type']).toBe('application/vnd.api+json');
    expect(server.requests[0]!.json).toEqual([1]);
  });

  test('a string body is sent as it is, with no content type invented', async () => {
    await send({ method: 'PATCH', url: `${server.url}/raw`, body: 'a=1&b=2', headers: { 'content-type': 'text/plain' } });
    expect(server.requests[0]).toMatchObject({ method: 'PATCH', body: 'a=1&b=2', headers: { 'content-type': 'text/plain' } });
    await send({ method: 'DELETE', url: `${server.url}/thing/7` });
    expect(server.requests[1]).toMatchObject({ method: 'DELETE', path: '/thing/7', body: '' });
    expect(server.requests[1]!.headers['content-type']).toBeUndefined();
  });

  test('json null is a body, not an absent one', async () => {
    await send({ url: `${server.url}/n`, json: null });
    expect(server.requests[0]!.body).toBe('null');
  });

  test('goes through the injected dispatcher', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock.get('https://api.example.com').intercept({ path: '/v1/events', method: 'POST', body: '{"a":1}' }).reply(202, 'accepted');
    const result = await sendHttpRequest({ method: 'POST', url: 'https://api.example.com/v1/events', json: { a: 1 } }, { dispatcher: mock });
    expect(result).toEqual({ ok: true, status: 202, body: 'accepted', attempts: [expect.objectContaining({ attempt: 1, status: 202, error: null })] });
    await mock.close();
  });
});

describe('retries', () => {
  test('a 2xx answer is ok at once', async () => {
    server.respond(() => ({ status: 201, body: 'created' }));
    const result = await send({ url: `${server.url}/x` });
    expect(result.ok).toBe(true);
    expect(result.status).toBe(201);
    expect(result.body).toBe('created');
    expect(result.attempts).toEqual([{ attempt: 1, status: 201, error: null, durationMs: expect.any(Number) }]);
    expect(slept).toEqual([]);
  });

  test('500 then 200: ok after two attempts, one jittered wait', async () => {
    server.failNext(1, 500);
    const result = await send({ url: `${server.url}/x` }, { retry: { baseDelayMs: 100 } });
    expect(result.ok).toBe(true);
    expect(result.attempts.map((a) => [a.status, a.error])).toEqual([
      [500, 'HTTP 500 Internal Server Error'],
      [200, null],
    ]);
    expect(slept).toEqual([50]); // 0.5 * 100
    expect(server.requests).toHaveLength(2);
  });

  test('the backoff doubles up to maxDelayMs, with full jitter', async () => {
    server.failNext(3, 502);
    const result = await send({ url: `${server.url}/x` }, { retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 300 } });
    expect(result.ok).toBe(true);
    expect(slept).toEqual([50, 100, 150]); // 0.5 * min(300, 100, 200, 400)

    slept = [];
    server.failNext(2, 500);
    await send({ url: `${server.url}/x` }, { retry: { baseDelayMs: 1000 }, random: () => 0 });
    expect(slept).toEqual([0, 0]);
  });

  test('gives up after the last attempt and reports the last failure', async () => {
    server.failNext(5, 503);
    const result = await send({ url: `${server.url}/x` }, { retry: { attempts: 3, baseDelayMs: 10 } });
    expect(result.ok).toBe(false);
    expect(result.status).toBe(503);
    expect(result.body).toBe('{"error":"injected 503"}');
    expect(result.attempts).toHaveLength(3);
    expect(slept).toHaveLength(2); // no wait after the last attempt
  });

  test('429 with Retry-After: 2 waits 2000 ms', async () => {
    server.failNext(1, 429, { 'retry-after': '2' });
    const result = await send({ url: `${server.url}/x` });
    expect(result.ok).toBe(true);
    expect(result.attempts.map((a) => a.status)).toEqual([429, 200]);
    expect(slept).toEqual([2000]);
  });

  test('Retry-After is capped by maxDelayMs, and may be an HTTP date', async () => {
    server.failNext(1, 429, { 'retry-after': '3600' });
    server.failNext(1, 503, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() });
    server.failNext(1, 503, { 'retry-after': new Date(Date.now() - 60_000).toUTCString() });
    const result = await send({ url: `${server.url}/x` }, { retry: { maxDelayMs: 5000 } });
    expect(result.ok).toBe(true);
    expect(slept).toEqual([5000, 5000, 0]);
  });

  test('Retry-After is ignored on other statuses and when unparseable', async () => {
    server.failNext(1, 500, { 'retry-after': '7' });
    server.failNext(1, 429, { 'retry-after': 'soon' });
    await send({ url: `${server.url}/x` }, { retry: { baseDelayMs: 100 } });
    expect(slept).toEqual([50, 100]);
  });

  test('400 is final: not retried, not ok', async () => {
    server.respond(() => ({ status: 400, body: '{"error":"bad revision"}' }));
    const result = await send({ url: `${server.url}/x` });
    expect(result).toEqual({
      ok: false,
      status: 400,
      body: '{"error":"bad revision"}',
      attempts: [{ attempt: 1, status: 400, error: 'HTTP 400 Bad Request', durationMs: expect.any(Number) }],
    });
    expect(server.requests).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  test('redirects are not followed and not ok', async () => {
    server.respond(() => ({ status: 302, headers: { location: '/elsewhere' } }));
    const result = await send({ url: `${server.url}/x` });
    expect(result.ok).toBe(false);
    expect(result.status).toBe(302);
    expect(server.requests).toHaveLength(1);
  });

  test('connection refused: retried, then failed with a clear error', async () => {
    const gone = await startRecordingServer();
    await gone.close();
    const result = await send({ url: `${gone.url}/x` }, { retry: { attempts: 3, baseDelayMs: 10 } });
    expect(result.ok).toBe(false);
    expect(result.status).toBeNull();
    expect(result.body).toBe('');
    expect(result.attempts).toHaveLength(3);
    for (const attempt of result.attempts) {
      expect(attempt.status).toBeNull();
      expect(attempt.error).toBe(`connection refused (connect ECONNREFUSED 127.0.0.1:${gone.port})`);
    }
    expect(slept).toEqual([5, 10]);
  });

  test('a hung server times out per attempt, then the retry succeeds', async () => {
    server.hangNext(1);
    const result = await send({ url: `${server.url}/x`, timeoutMs: 200 });
    expect(result.ok).toBe(true);
    expect(result.attempts.map((a) => [a.status, a.error])).toEqual([
      [null, 'timed out after 200 ms'],
      [200, null],
    ]);
    expect(result.attempts[0]!.durationMs).toBeGreaterThanOrEqual(190);
    // The configured 200 ms applied, not the 10 s default (a wide margin: CI machines are busy).
    expect(result.attempts[0]!.durationMs).toBeLessThan(10_000);
  });

  test('a server that never answers fails in bounded time', async () => {
    server.hangNext(10);
    const result = await send({ url: `${server.url}/x`, timeoutMs: 150 }, { retry: { attempts: 3 } });
    expect(result.ok).toBe(false);
    for (const attempt of result.attempts) expect(attempt.durationMs).toBeLessThan(10_000);
    expect(result.attempts.map((a) => a.error)).toEqual(Array(3).fill('timed out after 150 ms'));
    expect(server.requests).toHaveLength(3);
  });

  test('a 2xx whose body stalls still counts as delivered (no second send)', async () => {
    const stalling = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = stalling.address() as AddressInfo;
      const result = await send({ url: `http://127.0.0.1:${port}/x`, timeoutMs: 200 });
      expect(result.ok).toBe(true);
      expect(result.body).toBe('partial');
      expect(result.attempts).toHaveLength(1);
    } finally {
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });
});

describe('response body', () => {
  test('is cut to the first 4 KiB', async () => {
    server.respond(() => ({ status: 200, body: 'x'.repeat(4000) + 'y'.repeat(6000) }));
    const result = await send({ url: `${server.url}/x` });
    expect(result.body).toHaveLength(4096);
    expect(result.body).toBe('x'.repeat(4000) + 'y'.repeat(96));
  });

  test('a body of exactly 4 KiB is whole', async () => {
    server.respond(() => ({ status: 500, body: 'z'.repeat(4096) }));
    const result = await send({ url: `${server.url}/x` }, { retry: { attempts: 1 } });
    expect(result.body).toBe('z'.repeat(4096));
  });

  test('is never cut inside a multi-byte character', async () => {
    server.respond(() => ({ status: 200, body: 'a' + 'é'.repeat(3000) })); // 6001 bytes
    const result = await send({ url: `${server.url}/x` });
    expect(result.body).toBe('a' + 'é'.repeat(2047)); // 4095 bytes; half an é is dropped
    expect(result.body).not.toContain('\uFFFD');
  });

  test('a huge body is abandoned and its socket released', async () => {
    const single = new Agent({ connections: 1 });
    try {
      server.respond(() => ({ status: 200, body: 'q'.repeat(4 * 1024 * 1024) }));
      const options = { dispatcher: single, sleep, random: half };
      const first = await sendHttpRequest({ method: 'GET', url: `${server.url}/big`, timeoutMs: 2000 }, options);
      expect(first.body).toHaveLength(4096);
      server.respond(() => ({ status: 200, body: 'small' }));
      const second = await sendHttpRequest({ method: 'GET', url: `${server.url}/next`, timeoutMs: 2000 }, options);
      expect(second).toMatchObject({ ok: true, body: 'small' });
    } finally {
      await single.close();
    }
  });
});

describe('secrets', () => {
  const secret = 'sk-live-5b1f0c9e7d';

  test('are redacted from the body, even when echoed back', async () => {
    server.respond((req) => ({ status: 401, body: JSON.stringify({ error: 'bad key', key: req.headers['x-api-key'] }) }));
    const result = await send({ url: `${server.url}/x`, headers: { 'X-Api-Key': secret } }, { secrets: [secret] });
    expect(server.requests[0]!.headers['x-api-key']).toBe(secret); // sent as it is
    expect(result.body).toBe('{"error":"bad key","key":"***"}');
  });

  test('straddling the 4 KiB cut are still redacted, not half shown', async () => {
    server.respond(() => ({ status: 200, body: 'p'.repeat(4090) + secret + 'p'.repeat(100) }));
    const result = await send({ url: `${server.url}/x` }, { secrets: [secret] });
    expect(result.body).toBe('p'.repeat(4090) + '***' + 'p'.repeat(3));
    expect(result.body).not.toContain(secret.slice(0, 6));
  });

  test('an unfinished secret at the end of what was read is not shown', async () => {
    // Secrets shrink to *** when redacted, which pulls the end of the read window (where a secret
    // may be cut in half) inside the 4 KiB that are kept.
    server.respond(() => ({ status: 200, body: secret.repeat(300) }));
    const result = await send({ url: `${server.url}/x` }, { secrets: [secret] });
    // 4096 + 18 bytes were read: 228 whole secrets (one run of ***) and the start of another.
    expect(result.body).toBe('***');
  });

  test('are redacted from attempt errors', async () => {
    const gone = await startRecordingServer();
    await gone.close();
    const port = String(gone.port);
    const result = await send({ url: `${gone.url}/x` }, { retry: { attempts: 1 }, secrets: [port] });
    expect(result.attempts[0]!.error).toBe('connection refused (connect ECONNREFUSED 127.0.0.1:***)');
  });

  test('are redacted from usage errors', async () => {
    const err = await rejection(send({ url: `ftp://files.example.com/?token=${secret}` }, { secrets: [secret] }));
    expect(err.message).toContain('token=***');
    expect(err.message).not.toContain(secret);
  });

  test('a URL password never appears in errors', async () => {
    const err = await rejection(send({ url: 'ws://bot:hunter22@example.com/' }));
    expect(err.message).not.toContain('hunter22');
  });
});

describe('refused before sending', () => {
  test.each(['ftp://example.com/file', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', '/relative/path'])(
    '%s',
    async (url) => {
      const err = await rejection(send({ url }));
      expect(err.code).toBe(ErrorCode.Usage);
      expect(err.message).toMatch(/http/);
      expect(server.requests).toHaveLength(0);
    },
  );

  test('the message says what is allowed', async () => {
    const err = await rejection(send({ url: 'ftp://example.com/file' }));
    expect(err.message).toBe('only http:// and https:// URLs can be requested, not ftp:// (ftp://example.com/file)');
  });

  test('both json and body', async () => {
    const err = await rejection(send({ url: `${server.url}/x`, json: {}, body: '{}' }));
    expect(err.code).toBe(ErrorCode.Usage);
    expect(err.message).toMatch(/either json or body/);
  });

  test('a header value with a line break (and the value stays out of the message)', async () => {
    const err = await rejection(send({ url: `${server.url}/x`, headers: { Authorization: 'Bearer abc\r\nX-Evil: 1' } }));
    expect(err.code).toBe(ErrorCode.Usage);
    expect(err.message).not.toContain('abc');
  });

  test('a bad header name, an unknown method, a bad timeout, bad retry settings', async () => {
    await expect(send({ url: `${server.url}/x`, headers: { 'bad name': 'x' } })).rejects.toMatchObject({ code: ErrorCode.Usage });
    await expect(send({ url: `${server.url}/x`, method: 'TRACE' as 'GET' })).rejects.toMatchObject({ code: ErrorCode.Usage });
    await expect(send({ url: `${server.url}/x`, timeoutMs: 0 })).rejects.toMatchObject({ code: ErrorCode.Usage });
    await expect(send({ url: `${server.url}/x` }, { retry: { attempts: 0 } })).rejects.toMatchObject({ code: ErrorCode.Usage });
    await expect(send({ url: `${server.url}/x`, json: { n: 1n } })).rejects.toMatchObject({ code: ErrorCode.Usage });
    expect(server.requests).toHaveLength(0);
  });

  test('a header undici refuses to send is a usage error, not retried', async () => {
    const err = await rejection(send({ url: `${server.url}/x`, headers: { 'Transfer-Encoding': 'chunked' } }));
    expect(err.code).toBe(ErrorCode.Usage);
    expect(server.requests).toHaveLength(0);
    expect(slept).toEqual([]);
  });
});

describe('recording server', () => {
  test('faults are used in the order asked for, then the handler', async () => {
    server.failNext(1, 500);
    server.hangNext(1);
    server.respond((req) => ({ status: 200, body: `hello ${req.query.name ?? ''}` }));
    const result = await send({ method: 'GET', url: `${server.url}/hi?name=ada`, timeoutMs: 150 });
    expect(result.attempts.map((a) => a.status)).toEqual([500, null, 200]);
    expect(result.body).toBe('hello ada');
  });
});

describe('Idempotency-Key', () => {
  test('POST and PATCH send it on every attempt, the same value each time', async () => {
    server.failNext(1, 503);
    server.failNext(1, 500);
    const post = await send({ url: `${server.url}/p`, json: {}, idempotencyKey: 'deckhand-0123' });
    expect(post.ok).toBe(true);
    server.failNext(1, 503);
    await send({ method: 'PATCH', url: `${server.url}/q`, json: {}, idempotencyKey: 'deckhand-4567' });
    expect(server.requests.map((r) => [r.method, r.headers['idempotency-key']])).toEqual([
      ['POST', 'deckhand-0123'],
      ['POST', 'deckhand-0123'],
      ['POST', 'deckhand-0123'],
      ['PATCH', 'deckhand-4567'],
      ['PATCH', 'deckhand-4567'],
    ]);
  });

  test('not on GET, PUT, DELETE (idempotent already); never instead of the caller’s own header, whatever its case', async () => {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) await send({ method, url: `${server.url}/m`, idempotencyKey: 'deckhand-1' });
    await send({ url: `${server.url}/own`, headers: { 'IDEMPOTENCY-KEY': 'theirs' }, idempotencyKey: 'deckhand-2' });
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual([undefined, undefined, undefined, 'theirs']);
  });

  test('a key with a line break is a usage error, nothing sent', async () => {
    const err = await rejection(send({ url: `${server.url}/x`, idempotencyKey: 'a\r\nX-Evil: 1' }));
    expect(err.code).toBe(ErrorCode.Usage);
    expect(server.requests).toHaveLength(0);
  });
});
