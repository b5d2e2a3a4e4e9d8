import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { ListenerPressure } from '../../../src/http/listener-pressure.js';
import { JobWorker } from '../../../src/jobs/job-worker.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

describe('ListenerPressure: webhooks first, jobs in the gaps', () => {
  let server: Server;
  let pressure: ListenerPressure;
  const held: ServerResponse[] = [];
  beforeEach(async () => {
    server = createServer((_req, res) => void held.push(res));
    pressure = new ListenerPressure(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    held.splice(0).forEach((res) => res.end());
    await new Promise((resolve) => server.close(resolve));
  });

  const send = () =>
    new Promise<void>((resolve, reject) => {
      const req = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end('{}');
    });
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
    expect(check()).toBe(true);
  };

  test('nothing to wait for while no request is under way; a held request is waited for until it is answered', async () => {
    expect(pressure.quiet(10_000)).toBeNull();
    const answered = send();
    await until(() => held.length === 1);
    expect(pressure.busy).toBe(1);
    let quiet = false;
    const waiting = pressure.quiet(10_000)!.then(() => (quiet = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(quiet).toBe(false);
    held.shift()!.end('ok');
    await waiting;
    await answered;
    expect(pressure.busy).toBe(0);
    expect(pressure.quiet(10_000)).toBeNull();
  });

  test('a request that is never answered holds a waiter up to maxWaitMs only', async () => {
    void send().catch(() => {});
    await until(() => held.length === 1);
    const started = Date.now();
    await pressure.quiet(40);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(pressure.busy).toBe(1);
  });

  test('the job worker claims nothing while its yieldTo promise is pending, and runs the job once it resolves', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    let release = () => {};
    let asked = 0;
    const ran: number[] = [];
    const worker = new JobWorker({
      store,
      clock: systemClock,
      logger: silentLogger,
      pollMs: 5,
      handlers: { t: async (job) => void ran.push(job.id) },
      // Only the first claim is held back; later ones go at once.
      yieldTo: () => (asked++ === 0 ? new Promise<void>((resolve) => (release = resolve)) : null),
    });
    const job = await store.enqueueJob({ type: 't', payload: {}, runAt: new Date().toISOString() });
    worker.start();
    await until(() => asked === 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(ran).toEqual([]);
    expect((await store.getJob(job!.id))?.state).toBe('pending');
    release();
    await until(() => ran.length === 1);
    expect(ran).toEqual([job!.id]);
    await worker.stop();
    await store.close();
  });
});
