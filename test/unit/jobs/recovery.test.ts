import { silentLogger } from '../../../src/core/logger.js';
import type { Deployment, ScriptProcess } from '../../../src/core/model.js';
import { INTERRUPTED, recoverOnce, type ProcessOps } from '../../../src/jobs/recovery.js';
import type { GroupState } from '../../../src/providers/script/process-identity.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { testConfig } from '../../fixtures/config.js';
import { ManualClock } from '../../fixtures/harness.js';

/**
 * Recovery's decisions, with the process checks played by a fake: a script on another machine,
 * one that stops, one that will not. The real signals are exercised by the replicas-* tests.
 */
describe('recovery of deployments whose Deckhand is gone', () => {
  const config = testConfig();
  const scope = 'boot/pid:[1]';
  let store: SqliteStore;
  let clock: ManualClock;
  let kicked: string[];
  let failed: Deployment[];
  let groups: Map<number, GroupState>;
  let stopped: number[];
  let alivePids: Set<number>;

  const processes: ProcessOps = {
    local: (proc) => proc.pidScope === scope,
    state: (proc) => groups.get(proc.pgid) ?? 'gone',
    stop: async (proc) => {
      stopped.push(proc.pgid);
      // A group marked 'ours' goes when stopped; one that is 'unverifiable' is never signalled.
      if (groups.get(proc.pgid) === 'ours') groups.set(proc.pgid, 'gone');
      return groups.get(proc.pgid) ?? 'gone';
    },
    pidAlive: (pid) => alivePids.has(pid),
    scope,
  };
  const recover = (instanceId = 'me') =>
    recoverOnce({ store, clock, logger: silentLogger, config, instanceId, processes, finished: async (d) => void failed.push(d), kick: (app, env) => void kicked.push(`${app}/${env}`) });

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    clock = new ManualClock(new Date('2026-01-01T10:00:00Z'));
    kicked = [];
    failed = [];
    groups = new Map();
    stopped = [];
    alivePids = new Set([200]);
  });
  afterEach(async () => store.close());

  const later = (ms: number) => new Date(clock.now().getTime() + ms).toISOString();

  /** Instance `owner` (pid 200 in `scope`, or elsewhere) claims hello/staging with a 2-minute deadline, its script in group `pgid`; a second deployment waits. */
  async function runningOn(owner: string, proc: Partial<ScriptProcess> | null, options: { pidScope?: string | null } = {}) {
    await store.registerInstance({ id: owner, host: 'box', pidScope: options.pidScope === undefined ? scope : options.pidScope, pid: 200, startedAt: clock.now().toISOString(), expiresAt: later(30_000) });
    const first = await store.createDeployment({ app: 'hello', environment: 'staging', ref: 'main', provider: 'script', source: 'chat', requestedBy: 'alice', createdAt: clock.now().toISOString() });
    await store.claimNextDeployment('hello', 'staging', clock.now().toISOString(), { owner, deadline: later(120_000) });
    if (proc) await store.recordDeploymentProcess(first.id, owner, { host: 'box', pidScope: scope, pgid: 4242, leaderStart: '1', ...proc });
    const second = await store.createDeployment({ app: 'hello', environment: 'staging', ref: 'next', provider: 'script', source: 'chat', requestedBy: 'alice', createdAt: clock.now().toISOString() });
    return { first: first.id, second: second.id };
  }

  test("a live instance's deployment is left alone: not failed, its script not touched", async () => {
    const { first } = await runningOn('a', {});
    groups.set(4242, 'ours');
    await recover();
    expect(await store.getDeployment(first)).toMatchObject({ state: 'running', reason: null });
    expect(stopped).toEqual([]);
    expect(failed).toEqual([]);
  });

  test('here: the orphaned script is stopped first, the deployment fails "interrupted — outcome unknown", the queue moves on', async () => {
    const { first } = await runningOn('a', {});
    groups.set(4242, 'ours');
    clock.advance(31_000); // the heartbeat lapsed
    await recover();
    expect(stopped).toEqual([4242]);
    const recovered = await store.getDeployment(first);
    expect(recovered).toMatchObject({ state: 'failed' });
    expect(recovered?.reason).toContain(INTERRUPTED);
    expect(failed.map((d) => d.id)).toEqual([first]);
    expect(kicked).toContain('hello/staging');
    expect(await store.listOrphanedDeployments(clock.now().toISOString())).toEqual([]); // no hold left
  });

  test('on another machine: the target is held until the run’s deadline, then the queue moves on', async () => {
    const { first, second } = await runningOn('a', { pidScope: 'other-boot/pid:[9]' });
    clock.advance(31_000);
    await recover();
    expect(stopped).toEqual([]);
    expect((await store.getDeployment(first))?.reason).toContain(INTERRUPTED);
    expect(await store.claimNextDeployment('hello', 'staging', clock.now().toISOString())).toBeNull();
    kicked = [];
    clock.advance(60_000);
    await recover(); // still held: the script may run until its deadline
    expect(kicked).toEqual([]);
    expect(await store.claimNextDeployment('hello', 'staging', clock.now().toISOString())).toBeNull();
    clock.advance(60_000); // past the deadline
    await recover();
    expect(kicked).toContain('hello/staging');
    expect((await store.claimNextDeployment('hello', 'staging', clock.now().toISOString()))?.id).toBe(second);
  });

  test('here, but the script could not be stopped: held until it is seen gone', async () => {
    const { second } = await runningOn('a', {});
    groups.set(4242, 'unverifiable'); // e.g. its leader is gone and the group cannot be told apart from a new one
    clock.advance(31_000);
    await recover();
    expect(await store.claimNextDeployment('hello', 'staging', clock.now().toISOString())).toBeNull();
    kicked = [];
    await recover();
    expect(kicked).toEqual([]);
    expect(await store.claimNextDeployment('hello', 'staging', clock.now().toISOString())).toBeNull();
    groups.set(4242, 'gone');
    await recover();
    expect(kicked).toContain('hello/staging');
    expect((await store.claimNextDeployment('hello', 'staging', clock.now().toISOString()))?.id).toBe(second);
  });

  test('no process group recorded (it died between claim and spawn): held until the deadline', async () => {
    await runningOn('a', null);
    clock.advance(31_000);
    await recover();
    expect(await store.claimNextDeployment('hello', 'staging', clock.now().toISOString())).toBeNull();
    clock.advance(120_000);
    expect(await store.claimNextDeployment('hello', 'staging', clock.now().toISOString())).not.toBeNull();
  });

  test('here, a dead pid is a dead instance at once (no waiting for its heartbeat): its jobs are handed back', async () => {
    const { first } = await runningOn('a', {});
    groups.set(4242, 'ours');
    alivePids.clear();
    await store.enqueueJob({ type: 't', payload: {}, runAt: clock.now().toISOString() });
    await store.claimJob('a', clock.now().toISOString(), 300_000);
    await recover();
    expect(await store.listInstances()).toEqual([]);
    expect((await store.listJobs())[0]).toMatchObject({ state: 'pending', leaseOwner: null });
    expect((await store.getDeployment(first))?.state).toBe('failed');
  });

  test('another pid scope with a pid that happens not to exist here is not declared dead', async () => {
    const { first } = await runningOn('a', { pidScope: 'other' }, { pidScope: 'other-boot/pid:[9]' });
    alivePids.clear();
    await recover();
    expect(await store.listInstances()).toHaveLength(1);
    expect((await store.getDeployment(first))?.state).toBe('running');
  });

  test("this process's own deployments are never taken over, even when its heartbeat lapsed", async () => {
    const { first } = await runningOn('me', {});
    clock.advance(31_000);
    await recover('me');
    expect((await store.getDeployment(first))?.state).toBe('running');
  });
});
