import { until } from '../fixtures/in-process.js';
import { occurrences, replicaBackends, replicas, type Replicas } from '../fixtures/replicas.js';

/**
 * A rolling restart: the old process gets SIGTERM while it deploys and a new one is already up.
 * The old one stops taking work at once (not ready), lets its deployment finish, records it once
 * and exits 0; the next deployment of that target starts on the new one, after it.
 */
let setup: Replicas;
afterEach(async () => setup?.cleanup());

const readiness = async (port: number) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
  } catch {
    return 0; // not listening (any more)
  }
};

describe.each(await replicaBackends())('on %s', (backend) => {
  test('SIGTERM during a deployment: not ready at once, the deployment succeeds and is recorded once, the next one starts after it elsewhere, exit 0', async () => {
    setup = await replicas({ backend, env: { DECKHAND_HEARTBEAT: '3s', DECKHAND_SHUTDOWN_GRACE: '60s' } });
    const a = await setup.start();
    a.send('deploy slow to staging');
    await until(() => setup.runs().some((l) => l.startsWith('start 1 ')), 'deployment #1 to start on A');
    const b = await setup.start();
    b.send('deploy slow to staging');
    await b.waitFor('Deployment #2 slow/main to staging queued.');
    expect(await readiness(a.port)).toBe(200);

    a.child.kill('SIGTERM');
    // #1's script waits for its gate, so A is still draining while this holds.
    await until(async () => (await readiness(a.port)) === 503, "A's /readyz to answer 503", 10_000);
    expect(a.child.exitCode).toBeNull();
    expect(await setup.deployment(1)).toMatchObject({ state: 'running' });
    expect(await setup.deployment(2)).toMatchObject({ state: 'queued' });

    setup.open(1);
    expect(await a.exited).toBe(0);
    expect(await setup.deployment(1)).toMatchObject({ state: 'succeeded', reason: null });
    expect(occurrences(a.stdout(), '#1 slow/main to staging: succeeded')).toBe(1);
    // A marked itself stopped on the way out.
    expect((await setup.rows<{ stopped_at: string | null }>('SELECT stopped_at FROM instances WHERE pid = ?', a.child.pid))[0]?.stopped_at).not.toBeNull();

    // B takes #2 (A started nothing new while draining), after #1 ended.
    await until(() => setup.runs().some((l) => l.startsWith('start 2 ')), 'deployment #2 to start on B', 20_000);
    const bInstance = (await setup.rows<{ id: string }>('SELECT id FROM instances WHERE pid = ?', b.child.pid))[0]?.id;
    expect((await setup.deployment(2))?.run_owner).toBe(bInstance);
    setup.open(2);
    await until(async () => (await setup.deployment(2))?.state === 'succeeded', 'deployment #2 to succeed');
    expect(setup.runs().map((l) => l.replace(/pid=\d+ /, ''))).toEqual(['start 1 overlap=none', 'end 1', 'start 2 overlap=none', 'end 2']);
    b.child.stdin.end();
    expect(await b.exited).toBe(0);
  }, 60_000);
});
