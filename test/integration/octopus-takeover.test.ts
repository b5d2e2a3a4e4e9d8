import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFakeOctopus, type FakeOctopus } from '../fakes/octopus/fake-octopus.js';
import { until } from '../fixtures/in-process.js';
import { occurrences, replicaBackends, replicas, type Replicas } from '../fixtures/replicas.js';

/**
 * An Octopus deployment outlives the Deckhand process that started it: the task runs in Octopus.
 * When that process is killed (kill -9) or shut down (SIGTERM), another Deckhand on the same store
 * adopts the deployment — still running, now its own — follows the same Octopus task again, and
 * records the outcome Octopus reports, once. No second Octopus deployment is ever created.
 */
let setup: Replicas;
let octopus: FakeOctopus;
afterEach(async () => {
  await setup?.cleanup();
  await octopus?.close();
});

interface Row {
  state: string;
  reason: string | null;
  run_owner: string | null;
  external: unknown;
}

/** Two (or more) bots on one store, with an Octopus app `web` whose project is the fake's "Core Web". */
async function withOctopus(backend: 'sqlite' | 'postgres', env: Record<string, string>) {
  octopus = await startFakeOctopus();
  octopus.addRelease('Core Web', '1.0.0');
  setup = await replicas({ backend, env: { DECKHAND_HEARTBEAT: '3s', OCTOPUS_URL: octopus.url, OCTOPUS_API_KEY: octopus.apiKey, ...env } });
  writeFileSync(
    path.join(setup.cwd, 'deckhand.yaml'),
    `environments:
  staging: {}
apps:
  web:
    provider: { octopus: { project: "Core Web", poll: 50ms }, timeout: 5m }
    environments: [staging]
roles:
  operators: { members: ["shell:*"], may: ["deploy:*"] }
`,
  );
}

const row = async (id: number) => (await setup.rows<Row>('SELECT state, reason, run_owner, external FROM deployments WHERE id = ?', id))[0];
const external = (r: Row | undefined) => (typeof r?.external === 'string' ? JSON.parse(r.external) : r?.external) as { id?: string; taskId?: string } | null;
const instanceId = async (pid: number | undefined) => (await setup.rows<{ id: string }>('SELECT id FROM instances WHERE pid = ?', pid))[0]?.id;
const eventsOf = async (id: number) =>
  (await setup.rows<{ type: string; data: unknown }>("SELECT type, data FROM events WHERE type LIKE 'deployment.%' ORDER BY id"))
    .map((e) => ({ type: e.type, data: (typeof e.data === 'string' ? JSON.parse(e.data) : e.data) as { deployment?: { id: number } } }))
    .filter((e) => e.data.deployment?.id === id)
    .map((e) => e.type);

describe.each(await replicaBackends())('an Octopus deployment survives its Deckhand (%s)', (backend) => {
  test('kill -9 of the process following the task: a second replica adopts it, follows the same task, records Octopus\'s outcome once', async () => {
    await withOctopus(backend, {});
    octopus.nextTaskScript(['Queued', 'Executing']); // runs until the test ends it
    const a = await setup.start();
    const b = await setup.start();
    a.send('deploy web 1.0.0 to staging');
    await until(async () => Boolean(external(await row(1))?.taskId), 'deployment #1 to be linked to its Octopus task');
    const [created] = octopus.deployments();
    expect(external(await row(1))).toMatchObject({ id: created!.Id, taskId: created!.TaskId });
    expect((await row(1))?.run_owner).toBe(await instanceId(a.child.pid));

    a.child.kill('SIGKILL');
    await a.exited;
    const bId = await instanceId(b.child.pid);
    await until(async () => (await row(1))?.run_owner === bId, 'B to adopt deployment #1', 30_000);
    // Adopted, not failed: Octopus is still deploying.
    expect(await row(1)).toMatchObject({ state: 'running', reason: null });
    const reads = octopus.callsTo('GET', new RegExp(`/tasks/${created!.TaskId}$`)).length;
    await until(() => octopus.callsTo('GET', new RegExp(`/tasks/${created!.TaskId}$`)).length > reads + 1, 'B to follow the task');

    octopus.setTaskState(created!.TaskId, 'Success', { log: ['Deploying Core Web 1.0.0', 'Deployment complete'] });
    await until(async () => (await row(1))?.state === 'succeeded', 'deployment #1 to succeed', 30_000);
    await b.waitFor('#1 web/1.0.0 to staging: succeeded');
    expect(await row(1)).toMatchObject({ state: 'succeeded', reason: null, run_owner: bId });
    // Octopus deployed once; Deckhand recorded the outcome once, and B said so once.
    expect(octopus.deployments()).toHaveLength(1);
    expect(octopus.callsTo('POST', /\/deployments$/)).toHaveLength(1);
    expect(await eventsOf(1)).toEqual(['deployment.queued', 'deployment.started', 'deployment.succeeded']);
    expect(occurrences(b.stdout(), '#1 web/1.0.0 to staging: succeeded')).toBe(1);
    expect(b.stdout()).not.toContain('#1 web/1.0.0 to staging: failed');
    const log = await setup.rows<{ line: string }>('SELECT line FROM deployment_logs WHERE deployment_id = ? ORDER BY seq', 1);
    expect(log.map((l) => l.line)).toEqual(expect.arrayContaining([`Octopus: following task ${created!.TaskId} again (this Deckhand took deployment #1 over)`, expect.stringContaining('Deployment complete')]));

    // The target is free: the next deployment runs at once, on B.
    octopus.nextTaskScript(['Queued', 'Executing', 'Failed'], { errorMessage: 'Step failed: exit 1' });
    b.send('deploy web 1.0.0 to staging');
    await until(async () => (await row(2))?.state === 'failed', 'deployment #2 to fail in Octopus');
    expect((await row(2))?.reason).toMatch(/^failed in Octopus \(task ServerTasks-2\): Step failed: exit 1$/);
    b.child.stdin.end();
    expect(await b.exited).toBe(0);
  }, 90_000);

  test('SIGTERM while following a task: handed over at once (no wait for the grace period), adopted by the other replica, Octopus\'s failure recorded once', async () => {
    await withOctopus(backend, { DECKHAND_SHUTDOWN_GRACE: '10m' });
    octopus.nextTaskScript(['Queued', 'Executing']);
    const a = await setup.start();
    a.send('deploy web 1.0.0 to staging');
    await until(async () => Boolean(external(await row(1))?.taskId), 'deployment #1 to be linked to its Octopus task');
    const b = await setup.start();
    const [created] = octopus.deployments();

    a.child.kill('SIGTERM');
    // Exits long before its 10-minute grace: the Octopus task does not need it.
    expect(await a.exited).toBe(0);
    expect(a.stdout()).not.toContain('#1 web/1.0.0 to staging: cancelled');
    const bId = await instanceId(b.child.pid);
    await until(async () => (await row(1))?.run_owner === bId, 'B to adopt deployment #1', 30_000);
    expect(await row(1)).toMatchObject({ state: 'running', reason: null });

    octopus.setTaskState(created!.TaskId, 'Failed', { errorMessage: 'Step "Deploy Core Web" failed: disk full' });
    await until(async () => (await row(1))?.state === 'failed', 'deployment #1 to fail', 30_000);
    await b.waitFor('#1 web/1.0.0 to staging: failed');
    expect((await row(1))?.reason).toBe(`failed in Octopus (task ${created!.TaskId}): Step "Deploy Core Web" failed: disk full`);
    expect(octopus.deployments()).toHaveLength(1);
    expect(await eventsOf(1)).toEqual(['deployment.queued', 'deployment.started', 'deployment.failed']);
    expect(occurrences(a.stdout() + b.stdout(), '#1 web/1.0.0 to staging: failed')).toBe(1);
    b.child.stdin.end();
    expect(await b.exited).toBe(0);
  }, 90_000);
});
