import { silentLogger } from '../../../src/core/logger.js';
import type { Deployment } from '../../../src/core/model.js';
import { INTERRUPTED, recoverOnce, type ProcessOps } from '../../../src/jobs/recovery.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { testConfig } from '../../fixtures/config.js';
import { ManualClock } from '../../fixtures/harness.js';

/**
 * Recovery of a deployment whose work goes on without Deckhand (an Octopus task): adopted, still
 * running, by a live recovering process, which is asked to follow it — never failed as interrupted.
 * Whether a deployment qualifies is the runner's call (resume.can); here it is every deployment
 * with an Octopus task id.
 */
describe('recovery adopts deployments another Deckhand can follow again', () => {
  let store: SqliteStore;
  let clock: ManualClock;
  let failed: Deployment[];
  let followed: Array<{ by: string; deployment: Deployment }>;
  const processes: ProcessOps = { local: () => false, state: () => 'gone', stop: async () => 'gone', pidAlive: () => true, scope: null };
  const later = (ms: number) => new Date(clock.now().getTime() + ms).toISOString();

  const recover = (instanceId: string | null) =>
    recoverOnce({
      store,
      clock,
      logger: silentLogger,
      config: testConfig(),
      instanceId,
      processes,
      finished: async (d) => void failed.push(d),
      kick: () => undefined,
      resume: { can: (d) => typeof d.external?.taskId === 'string', start: (deployment) => void followed.push({ by: instanceId ?? '-', deployment }) },
    });

  const register = (id: string) => store.registerInstance({ id, host: 'box', pidScope: null, pid: 1, startedAt: clock.now().toISOString(), expiresAt: later(30_000) });

  /** hello/staging claimed by `owner`; linked to an Octopus task when `taskId` is given. */
  async function running(owner: string, taskId?: string): Promise<number> {
    await register(owner);
    const d = await store.createDeployment({ app: 'hello', environment: 'staging', ref: 'main', provider: 'octopus', source: 'chat', requestedBy: 'alice', createdAt: clock.now().toISOString() });
    await store.claimNextDeployment('hello', 'staging', clock.now().toISOString(), { owner, deadline: later(600_000) });
    if (taskId) await store.linkExternal(d.id, { system: 'octopus', id: 'Deployments-1', taskId });
    return d.id;
  }

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    clock = new ManualClock(new Date('2026-01-01T10:00:00Z'));
    failed = [];
    followed = [];
  });
  afterEach(async () => store.close());

  test('a stopped owner: adopted once, still running, followed by the adopter; the others and the old owner get nothing', async () => {
    const id = await running('a', 'ServerTasks-7');
    await register('b');
    await register('c');
    await recover('b'); // a is live: nothing happens
    expect(followed).toEqual([]);
    await store.stopInstance('a', clock.now().toISOString());
    await recover('b');
    await recover('c');
    expect(followed.map((f) => [f.by, f.deployment.id, f.deployment.state, f.deployment.external?.taskId])).toEqual([['b', id, 'running', 'ServerTasks-7']]);
    expect(failed).toEqual([]);
    expect(await store.getDeployment(id)).toMatchObject({ state: 'running', reason: null, finishedAt: null });
    expect(await store.listOrphanedDeployments(clock.now().toISOString())).toEqual([]);
  });

  test('an adopter whose own heartbeat lapsed adopts nothing, and fails nothing: a live one adopts it later', async () => {
    const id = await running('a', 'ServerTasks-7');
    await register('b');
    clock.advance(31_000); // a's and b's heartbeats lapsed
    await recover('b');
    expect(followed).toEqual([]);
    expect(failed).toEqual([]);
    expect(await store.getDeployment(id)).toMatchObject({ state: 'running' });
    await store.renewInstance('b', clock.now().toISOString(), later(30_000)); // refused: lapsed
    await register('b'); // re-registers, as the heartbeat does
    await recover('b');
    expect(followed.map((f) => f.deployment.id)).toEqual([id]);
  });

  test('without a task to follow (killed before Octopus answered), or without an instance, it fails as interrupted, as before', async () => {
    const id = await running('a');
    await store.stopInstance('a', clock.now().toISOString());
    await register('b');
    await recover('b');
    expect(followed).toEqual([]);
    expect(failed.map((d) => [d.id, d.state])).toEqual([[id, 'failed']]);
    expect(failed[0]?.reason).toContain(INTERRUPTED);

    const other = await store.createDeployment({ app: 'api', environment: 'staging', ref: 'main', provider: 'octopus', source: 'chat', requestedBy: 'alice', createdAt: clock.now().toISOString() });
    await store.claimNextDeployment('api', 'staging', clock.now().toISOString());
    await store.linkExternal(other.id, { system: 'octopus', id: 'Deployments-2', taskId: 'ServerTasks-8' });
    await recover(null); // a process without an instance cannot own what it follows
    expect(followed).toEqual([]);
    expect(failed.map((d) => d.id)).toEqual([id, other.id]);
  });
});
