import { until } from '../fixtures/in-process.js';
import { replicas, type Replicas } from '../fixtures/replicas.js';
import { tcpProxy, type TcpProxy } from '../fixtures/tcp-proxy.js';
import { postgresReachable, testPostgresUrl } from '../unit/store/pg-test-db.js';

/**
 * The database stops answering without closing anything (a network partition: the TCP proxy in
 * front of it frozen). The built bot runs with DECKHAND_PG_STATEMENT_TIMEOUT=1s: a webhook is
 * answered 503 with Retry-After — not left hanging on a pooled connection that will never answer
 * (status() gives up after 8 s and says 0) — and nothing is stored; /readyz says 503; once the
 * database answers again, the same delivery is accepted. No restart.
 */

// Locally without PostgreSQL: skipped with a note. In CI: this throws, and the file fails.
const describePg = (await postgresReachable()) ? describe : describe.skip;

const key = 'timeouts-test-key-0123456789';

let setup: Replicas | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await setup?.cleanup();
  await proxy?.close();
  setup = undefined;
  proxy = undefined;
});

/** The status of a request, 0 when there was no answer (refused, or none within 8 s). */
const answer = async (url: string, init?: RequestInit) => {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(8000) });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
  } catch {
    return { status: 0, retryAfter: null, body: '' };
  }
};

describePg('PostgreSQL stops answering (the proxy frozen) with a statement timeout', () => {
  test('a webhook gets 503 + Retry-After within the bound and is not stored; /readyz 503; after the database is back the same delivery is accepted', async () => {
    const target = new URL(testPostgresUrl);
    proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const s = (setup = await replicas({
      backend: 'postgres',
      env: { PING_KEY: key, DECKHAND_PG_STATEMENT_TIMEOUT: '1s' },
      reactions: { ping: `on:\n  webhook: ping\n  auth: { api_key: "\${secret.PING_KEY}" }\ndo:\n  - chat: { channel: "#ops", text: "ping {{ payload.n }}" }\n` },
    }));
    const proxied = new URL(s.databaseUrl);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    proxied.searchParams.set('connect_timeout', '2');
    const bot = await s.start({ DATABASE_URL: proxied.href });
    const base = `http://127.0.0.1:${bot.port}`;
    const ping = (n: string) => answer(`${base}/triggers/ping`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-delivery-id': n }, body: JSON.stringify({ n }) });
    expect((await ping('t-1')).status).toBe(202);
    await bot.waitFor('[#ops] ping t-1');

    proxy.freeze();
    const refused = await ping('t-2');
    expect(refused).toMatchObject({ status: 503, retryAfter: '5' });
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'E_STORE_UNAVAILABLE' });
    expect((await answer(`${base}/readyz`)).status).toBe(503);
    expect(bot.child.exitCode).toBeNull();

    await proxy.restore();
    await until(async () => (await answer(`${base}/readyz`)).status === 200, '/readyz to answer 200 again', 20_000);
    expect((await ping('t-2')).status).toBe(202);
    await bot.waitFor('[#ops] ping t-2');
    const deliveries = await s.rows<{ delivery_id: string }>('SELECT delivery_id FROM deliveries ORDER BY id');
    expect(deliveries.map((d) => d.delivery_id)).toEqual(['t-1', 't-2']);
    bot.child.stdin.end();
    expect(await bot.exited).toBe(0);
  }, 60_000);
});
