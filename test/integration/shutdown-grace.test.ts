import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { until } from '../fixtures/in-process.js';
import { isRunning, replicaBackends, replicas, type Replicas } from '../fixtures/replicas.js';

/**
 * SIGTERM with work that outlasts the grace period: the deployment's script is stopped and the
 * deployment recorded as cancelled, saying why; the unfinished job is handed back, so the next
 * process takes it at once (not after its lease); the process still exits 0. On SQLite and on
 * PostgreSQL (a database of its own per test).
 */
let setup: Replicas;
afterEach(async () => setup?.cleanup());

const key = 'grace-test-key-0123456789';

describe.each(await replicaBackends())('on %s', (backend) => {
  test('the grace period runs out: the script is stopped and said so, the job is handed back and taken at once by the next process', async () => {
    setup = await replicas({
      backend,
      env: { DECKHAND_HEARTBEAT: '3s', DECKHAND_SHUTDOWN_GRACE: '2s', SLOW_KEY: key },
      reactions: {
        gated: `on:
  webhook: gated
  auth: { api_key: "\${secret.SLOW_KEY}" }
do:
  - script: { path: ${path.join(projectRoot, 'test/fixtures/reactions/gated-record.sh')}, env: { OUT_FILE: "\${env.OUT_FILE}" } }
`,
      },
    });
    const out = path.join(setup.cwd, 'reaction.out');
    const a = await setup.start({ OUT_FILE: out });
    a.send('deploy slow to staging');
    await until(() => setup.runs().some((l) => l.startsWith('start 1 ')), 'deployment #1 to start');
    const response = await fetch(`http://127.0.0.1:${a.port}/triggers/gated`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: '{}' });
    expect(response.status).toBe(202);
    await until(() => existsSync(`${out}.pids`), 'the reaction script to start');
    const script = Number(/pid=(\d+)/.exec(setup.runs()[0] ?? '')?.[1]);
    const reaction = Number(readFileSync(`${out}.pids`, 'utf8').trim());

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const stopped = await setup.deployment(1);
    expect(stopped?.state).toBe('cancelled');
    expect(stopped?.reason).toMatch(/grace period \(2s\) ran out before this deployment finished; its script was stopped/);
    expect(stopped?.held_until).toBeNull(); // stopped for sure: nothing to wait for
    expect(isRunning(script)).toBe(false);
    expect(isRunning(reaction)).toBe(false);
    expect(setup.runs()).not.toContain('end 1');
    const [job] = await setup.rows<{ state: string; lease_owner: string | null }>(`SELECT state, lease_owner FROM jobs WHERE type = 'reaction'`);
    expect(job).toEqual({ state: 'pending', lease_owner: null });

    // The next process: the job runs again at once (its lease was handed back), and the target is free.
    const b = await setup.start({ OUT_FILE: out });
    await until(() => readFileSync(`${out}.starts`, 'utf8').trim().split('\n').length === 2, 'the reaction to run again on B', 15_000);
    b.send('deploy slow to staging');
    await until(() => setup.runs().some((l) => l.startsWith('start 2 ')), 'deployment #2 to start on B');
    expect(setup.runs().find((l) => l.startsWith('start 2 '))).toMatch(/overlap=none$/);
    setup.open(2);
    await until(async () => (await setup.deployment(2))?.state === 'succeeded', 'deployment #2 to succeed');
    writeFileSync(`${out}.gate`, ''); // lets the re-run reaction finish
    await until(() => existsSync(out), 'the reaction to finish', 15_000);
    b.child.stdin.end();
    expect(await b.exited).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual(['done']);
  }, 60_000);
});
