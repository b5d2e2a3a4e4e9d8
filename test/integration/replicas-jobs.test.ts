import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { until } from '../fixtures/in-process.js';
import { killGroup, replicaBackends, replicas, type Replicas } from '../fixtures/replicas.js';

/**
 * kill -9 while a webhook-triggered reaction runs, with the default job lease and heartbeat: the
 * restarted process takes the job over within seconds — it sees on this machine that the killed
 * process is gone and hands its jobs back — instead of waiting for the lease (it was 5 minutes).
 * On SQLite and on PostgreSQL (a database of its own per test).
 */
let setup: Replicas | undefined;
afterEach(async () => {
  await setup?.cleanup();
  setup = undefined;
});

const key = 'jobs-test-key-0123456789';

describe.each(await replicaBackends())('on %s', (backend) => {
  test('after kill -9, the running job is taken over by the restarted process within seconds', async () => {
    const s = (setup = await replicas({
      backend,
      env: { SLOW_KEY: key }, // DECKHAND_JOB_LEASE and DECKHAND_HEARTBEAT: the defaults
      reactions: {
        gated: `on:
  webhook: gated
  auth: { api_key: "\${secret.SLOW_KEY}" }
do:
  - script: { path: ${path.join(projectRoot, 'test/fixtures/reactions/gated-record.sh')}, env: { OUT_FILE: "\${env.OUT_FILE}" } }
`,
      },
    }));
    const out = path.join(s.cwd, 'reaction.out');
    const a = await s.start({ OUT_FILE: out });
    const response = await fetch(`http://127.0.0.1:${a.port}/triggers/gated`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: '{}' });
    expect(response.status).toBe(202);
    await until(() => existsSync(`${out}.pids`), 'the reaction script to start');
    a.child.kill('SIGKILL');
    await a.exited;
    // A reaction script is not recovered like a deploy script (see the report): the machine "dies" with it.
    killGroup(Number(readFileSync(`${out}.pids`, 'utf8').trim()));

    const restarted = await s.start({ OUT_FILE: out });
    // Well within the 30 s lease and heartbeat: the killed process's pid is gone on this machine.
    await until(() => readFileSync(`${out}.starts`, 'utf8').trim().split('\n').length === 2, 'the job to run again', 15_000);
    writeFileSync(`${out}.gate`, '');
    await until(() => existsSync(out), 'the reaction to finish');
    restarted.child.stdin.end();
    expect(await restarted.exited).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual(['done']);
    const [job] = await s.rows<{ state: string; attempts: number }>(`SELECT state, attempts FROM jobs WHERE type = 'reaction'`);
    expect(job).toEqual({ state: 'done', attempts: 2 });
  }, 60_000);
});
