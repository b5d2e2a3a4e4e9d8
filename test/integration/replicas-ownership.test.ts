import { until } from '../fixtures/in-process.js';
import { isRunning, occurrences, replicaBackends, replicas, type Replicas } from '../fixtures/replicas.js';

/**
 * Two Deckhand processes on one store (one machine) — a SQLite file, and a PostgreSQL database of
 * the test's own — as during a rolling restart or with a
 * second replica: a running deployment belongs to the process that runs it, and the deploy scripts
 * of one app and environment never overlap — the script itself reports an overlap if it sees the
 * previous one still running.
 */
const heartbeat = { DECKHAND_HEARTBEAT: '3s' }; // a heartbeat every second; gone after 3 s without

let setup: Replicas;
afterEach(async () => setup?.cleanup());

interface InstanceRow {
  id: string;
  pid: number;
  started_at: string;
  expires_at: string;
}

const instanceOf = async (pid: number) => (await setup.rows<InstanceRow>('SELECT * FROM instances WHERE pid = ? AND stopped_at IS NULL', pid))[0];
const ms = (iso: string | undefined) => (iso ? new Date(iso).getTime() : 0);

describe.each(await replicaBackends())('several Deckhand processes on one store (%s)', (backend) => {
  test('a second process starting while the first deploys leaves that deployment alone; the next one starts after it; its success is recorded once', async () => {
    setup = await replicas({ backend, env: heartbeat });
    const a = await setup.start();
    a.send('deploy slow to staging');
    await until(() => setup.runs().some((l) => l.startsWith('start 1 ')), 'deployment #1 to start on A');

    const b = await setup.start(); // its start-up recovery has run by now
    b.send('deploy slow to staging');
    await b.waitFor('Deployment #2 slow/main to staging queued.');
    // Long enough for B to have swept several times, and for A's first expiry to have passed:
    // had A's heartbeat not kept it live, B would have taken #1 over by now.
    const first = ms((await instanceOf(a.child.pid!))?.started_at);
    await until(
      async () => {
        const [ia, ib] = [await instanceOf(a.child.pid!), await instanceOf(b.child.pid!)];
        return ms(ia?.expires_at) > first + 7000 && ms(ib?.expires_at) > ms(ib?.started_at) + 5000;
      },
      'a few heartbeats of both',
      20_000,
    );
    expect(await setup.deployment(1)).toMatchObject({ state: 'running', reason: null });
    expect(await setup.deployment(2)).toMatchObject({ state: 'queued' });
    expect(setup.runs()).toHaveLength(1);

    setup.open(1);
    await until(() => setup.runs().some((l) => l.startsWith('start 2 ')), 'deployment #2 to start');
    setup.open(2);
    await until(async () => (await setup.deployment(2))?.state === 'succeeded', 'deployment #2 to succeed');

    expect(setup.runs().map((l) => l.replace(/pid=\d+ /, ''))).toEqual(['start 1 overlap=none', 'end 1', 'start 2 overlap=none', 'end 2']);
    expect(await setup.deployment(1)).toMatchObject({ state: 'succeeded', reason: null });
    expect(occurrences(a.stdout(), '#1 slow/main to staging: succeeded')).toBe(1);
    expect(b.stdout()).not.toContain('#1 slow/main to staging: failed');
    a.child.stdin.end();
    b.child.stdin.end();
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  }, 60_000);

  test('kill -9 of the process running a deployment: its orphaned script is stopped before the next deployment of that target starts', async () => {
    setup = await replicas({ backend, env: heartbeat });
    const b = await setup.start();
    const a = await setup.start();
    // stubborn's script ignores SIGTERM: it has to be killed.
    a.send('deploy stubborn to staging');
    await until(() => setup.runs().some((l) => l.startsWith('start 1 ')), 'deployment #1 to start on A');
    const orphan = Number(/pid=(\d+)/.exec(setup.runs()[0] ?? '')?.[1]);
    b.send('deploy stubborn to staging');
    await b.waitFor('Deployment #2 stubborn/main to staging queued.');

    a.child.kill('SIGKILL'); // the script lives on: it is in its own process group
    await a.exited;
    const restarted = await setup.start(); // the restarted A; B is still there too

    await until(async () => (await setup.deployment(1))?.state === 'failed', 'deployment #1 to be recovered', 30_000);
    expect((await setup.deployment(1))?.reason).toMatch(/^interrupted — outcome unknown: /);
    await until(() => setup.runs().some((l) => l.startsWith('start 2 ')), 'deployment #2 to start', 30_000);
    // When #2 started, #1's script was no longer running (the script checks), and it is gone now.
    expect(setup.runs().find((l) => l.startsWith('start 2 '))).toMatch(/overlap=none$/);
    expect(isRunning(orphan)).toBe(false);
    expect(setup.runs()).not.toContain('end 1'); // it never got to finish

    setup.open(2);
    await until(async () => (await setup.deployment(2))?.state === 'succeeded', 'deployment #2 to succeed');
    // Exactly one of the survivors recovered #1 and said so.
    expect(occurrences(b.stdout() + restarted.stdout(), '#1 stubborn/main to staging: failed')).toBe(1);
    b.child.stdin.end();
    restarted.child.stdin.end();
    expect(await b.exited).toBe(0);
    expect(await restarted.exited).toBe(0);
  }, 60_000);
});
