import { ErrorCode } from '../../../src/core/errors.js';
import { createHarness } from '../../fixtures/harness.js';

const alice = { id: 'alice', room: 'shell' };
const bob = { id: 'bob', room: 'shell' };

describe('deploy action', () => {
  test('queues, runs, and records the whole lifecycle as stored events and audit', async () => {
    const h = await createHarness();
    const { deployment } = await h.actions.deploy(alice, { app: 'hello', environment: 'stg' });
    expect(deployment).toMatchObject({ app: 'hello', environment: 'staging', ref: 'main', state: 'queued', requestedBy: 'alice' });
    await h.provider.untilStarted(1);
    h.provider.finish(deployment.id);
    await h.runner.idle();
    expect(await h.store.getDeployment(deployment.id)).toMatchObject({ state: 'succeeded', logTail: 'done', exitCode: 0 });
    expect(h.events.map((e) => e.type)).toEqual(['deployment.queued', 'deployment.started', 'deployment.succeeded']);
    const stored = await h.store.listEvents();
    expect(stored.map((e) => e.type)).toEqual(['deployment.queued', 'deployment.started', 'deployment.succeeded']);
    expect(await h.store.listAudit({ action: 'deploy' })).toEqual([
      expect.objectContaining({ actor: 'alice', outcome: 'ok', target: 'hello/main to staging' }),
    ]);
  });

  test('two deploys of one target never run at once: the second waits its turn', async () => {
    const h = await createHarness();
    const first = await h.actions.deploy(alice, { app: 'hello' });
    await h.provider.untilStarted(1);
    const second = await h.actions.deploy(alice, { app: 'hello', ref: 'feature-x' });
    expect(second.waitingFor?.id).toBe(first.deployment.id);
    // Another target is independent.
    const other = await h.actions.deploy(bob, { app: 'api', environment: 'staging', ref: 'main' }).catch((e) => e);
    expect(other.code).toBe(ErrorCode.RoomNotAllowed);
    expect(h.provider.started.map((d) => d.id)).toEqual([first.deployment.id]);
    h.provider.finish(first.deployment.id);
    await h.provider.untilStarted(2);
    expect(h.provider.started[1]?.ref).toBe('feature-x');
    h.provider.finish(second.deployment.id, false);
    await h.runner.idle();
    expect((await h.store.getDeployment(second.deployment.id))?.state).toBe('failed');
  });

  test('permission is checked per environment, refusals are audited', async () => {
    const h = await createHarness();
    await expect(h.actions.deploy(alice, { app: 'hello', environment: 'production' })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
      message: 'You (alice) are not allowed to do that: it needs deploy:production. Roles that have it: leads.',
    });
    await expect(h.actions.deploy({ id: 'mallory' }, { app: 'hello' })).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    expect((await h.store.listAudit({ action: 'deploy' })).map((a) => a.outcome)).toEqual(['denied', 'denied']);
    expect(await h.store.listDeployments()).toEqual([]);
  });

  test('rooms restrict where an app can be deployed from', async () => {
    const h = await createHarness();
    await expect(h.actions.deploy({ id: 'bob', room: 'C-random' }, { app: 'api', environment: 'staging' })).rejects.toThrow(
      "api can't be deployed from C-random; use #deploys.",
    );
    await expect(h.actions.deploy({ id: 'bob', room: '#deploys' }, { app: 'api', environment: 'staging' })).resolves.toBeDefined();
  });

  test('a lock blocks everyone (the holder too unless config allows it)', async () => {
    const h = await createHarness();
    await h.actions.lock(bob, { environment: 'prod', reason: 'db migration' });
    const refused = await h.actions.deploy(bob, { app: 'hello', environment: 'production' }).catch((e) => e);
    expect(refused.code).toBe(ErrorCode.EnvLocked);
    expect(refused.message).toBe("Can't deploy hello/main to production: production is locked by bob since 2026-11-23 10:00 UTC (just now): db migration.");

    const lenient = await createHarness(
      (await import('../../fixtures/config.js')).testConfig('locks: { holder_may_deploy: true }'),
    );
    await lenient.actions.lock(bob, { environment: 'production' });
    await expect(lenient.actions.deploy(bob, { app: 'hello', environment: 'production' })).resolves.toBeDefined();
    await expect(lenient.actions.deploy({ id: 'alice' }, { app: 'hello', environment: 'production' })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
  });

  test('an app-level lock blocks only that app', async () => {
    const h = await createHarness();
    await h.actions.lock(bob, { environment: 'staging', app: 'api' });
    await expect(h.actions.deploy(alice, { app: 'hello' })).resolves.toBeDefined();
    await expect(h.actions.deploy({ id: 'alice', room: '#deploys' }, { app: 'api', environment: 'staging' })).rejects.toMatchObject({
      code: ErrorCode.EnvLocked,
    });
  });

  test('a lock taken while a deployment waits in the queue cancels it', async () => {
    const h = await createHarness();
    const first = await h.actions.deploy(alice, { app: 'hello' });
    await h.provider.untilStarted(1);
    const second = await h.actions.deploy(alice, { app: 'hello', ref: 'next' });
    await h.actions.lock(bob, { environment: 'staging', reason: 'freeze' });
    h.provider.finish(first.deployment.id);
    await h.runner.idle();
    expect(await h.store.getDeployment(second.deployment.id)).toMatchObject({ state: 'cancelled', reason: expect.stringContaining('locked by bob') });
    expect(h.provider.started).toHaveLength(1);
  });

  test('a failed pre-deploy check refuses; deploy! needs force permission and is audited', async () => {
    const h = await createHarness();
    h.provider.failingChecks.add('wip-1');
    await expect(h.actions.deploy(alice, { app: 'hello', ref: 'wip-1' })).rejects.toMatchObject({
      code: ErrorCode.CheckFailed,
      message: expect.stringContaining('use deploy! to go ahead anyway'),
    });
    await expect(h.actions.deploy(alice, { app: 'hello', ref: 'wip-1', force: true })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
      details: expect.objectContaining({ needed: 'force:staging' }),
    });
    const forced = await h.actions.deploy(bob, { app: 'hello', ref: 'wip-1', force: true });
    expect(forced.deployment.forced).toBe(true);
    expect(forced.forcedChecks.map((c) => c.check)).toEqual(['test-check']);
    const [audit] = await h.store.listAudit({ action: 'deploy', actor: 'bob' });
    expect(audit?.details).toMatchObject({ forced: true, forcedPastChecks: ['test-check'] });
  });

  test('bad input is a usage error, not a deployment', async () => {
    const h = await createHarness();
    for (const ref of ['--upload-pack=evil', 'a..b', 'x y', '$(reboot)', 'feature/']) {
      await expect(h.actions.deploy(alice, { app: 'hello', ref })).rejects.toMatchObject({ code: ErrorCode.Usage });
    }
    await expect(h.actions.deploy(alice, { app: 'nosuchapp' })).rejects.toMatchObject({ code: ErrorCode.UnknownApp });
    await expect(h.actions.deploy(alice, { app: 'hello', environment: 'qa' })).rejects.toMatchObject({ code: ErrorCode.UnknownEnvironment });
    expect(await h.store.listDeployments()).toEqual([]);
  });

  test('recover() fails deployments left running by a dead process and starts queued ones', async () => {
    const h = await createHarness();
    const stale = await h.store.createDeployment({ app: 'hello', environment: 'staging', ref: 'old', provider: 'script', source: 'chat', requestedBy: 'alice', createdAt: h.clock.now().toISOString() });
    await h.store.claimNextDeployment('hello', 'staging', h.clock.now().toISOString());
    const waiting = await h.store.createDeployment({ app: 'hello', environment: 'staging', ref: 'new', provider: 'script', source: 'chat', requestedBy: 'alice', createdAt: h.clock.now().toISOString() });
    await h.runner.recover();
    expect(await h.store.getDeployment(stale.id)).toMatchObject({ state: 'failed', reason: expect.stringContaining('interrupted') });
    // Whether the dead process's script still runs is not known: the target waits for its timeout.
    expect(h.provider.started).toEqual([]);
    h.clock.advance(3_600_000);
    await h.runner.recover();
    await h.provider.untilStarted(1);
    expect(h.provider.started[0]?.id).toBe(waiting.id);
    h.provider.finish(waiting.id);
    await h.runner.idle();
  });
});

describe('rollback action', () => {
  test('redeploys the previous successful ref, skipping dry runs and failures', async () => {
    const h = await createHarness();
    const run = async (ref: string, ok = true, dryRun = false) => {
      const { deployment } = await h.actions.deploy(bob, { app: 'hello', environment: 'staging', ref, dryRun });
      await h.provider.untilStarted(h.provider.started.length + 0);
      await new Promise((r) => setImmediate(r));
      h.provider.finish(deployment.id, ok);
      await h.runner.idle();
      return deployment;
    };
    await expect(h.actions.rollback(bob, { app: 'hello', environment: 'stg' })).rejects.toMatchObject({ code: ErrorCode.NothingToRollback });
    const v1 = await run('v1');
    await run('v2', false);
    await run('v3', true, true);
    const v4 = await run('v4');
    const result = await h.actions.rollback(bob, { app: 'hello', environment: 'stg' });
    expect(result.previous.id).toBe(v1.id);
    expect(result.current.id).toBe(v4.id);
    expect(result.deployment).toMatchObject({ ref: 'v1', rollbackOf: v4.id, environment: 'staging' });
    await h.provider.untilStarted(5);
    h.provider.finish(result.deployment.id);
    await h.runner.idle();
  });
});

describe('locks and releases', () => {
  test('lock! takes over explicitly and tells who held it', async () => {
    const h = await createHarness();
    await h.actions.lock(alice, { environment: 'staging', reason: 'testing' });
    await expect(h.actions.lock(bob, { environment: 'staging' })).rejects.toMatchObject({
      code: ErrorCode.LockHeld,
      message: expect.stringMatching(/staging is locked by alice .*: testing\. Use lock! to take it over\./),
    });
    const { previous } = await h.actions.lock(bob, { environment: 'staging', reason: 'incident', takeover: true });
    expect(previous?.holder).toBe('alice');
    const acquired = h.events.filter((e) => e.type === 'lock.acquired').at(-1);
    expect(acquired?.data).toMatchObject({ previous: { holder: 'alice' }, lock: { holder: 'bob' } });
    expect((await h.store.listAudit({ action: 'lock.takeover' }))[0]?.details).toMatchObject({ previousHolder: 'alice' });
    await expect(h.actions.unlock(alice, { environment: 'production' })).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await expect(h.actions.unlock(bob, { environment: 'production' })).rejects.toMatchObject({ code: ErrorCode.NotLocked });
    await h.actions.unlock(alice, { environment: 'stg' });
    expect(await h.store.listLocks()).toEqual([]);
  });

  test('releases are unique per app and version, and need release:<app>', async () => {
    const h = await createHarness();
    const { release, url } = await h.actions.createRelease(alice, { app: 'hello', version: '1.4.0', notes: 'Faster' });
    expect(url).toBeNull(); // a script app's release lives only in Deckhand
    expect(release).toMatchObject({ app: 'hello', version: '1.4.0', notes: 'Faster', createdBy: 'alice' });
    await expect(h.actions.createRelease(alice, { app: 'hello', version: '1.4.0' })).rejects.toMatchObject({ code: ErrorCode.ReleaseExists });
    await expect(h.actions.createRelease(alice, { app: 'api', version: '1.0.0' })).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await expect(h.actions.createRelease(alice, { app: 'hello', version: '-rf' })).rejects.toMatchObject({ code: ErrorCode.Usage });
    expect(h.events.filter((e) => e.type === 'release.created')).toHaveLength(1);
  });
});

describe('approvals for protected environments', () => {
  async function protectedHarness(extra = '') {
    const { testConfig } = await import('../../fixtures/config.js');
    const config = testConfig(extra);
    return createHarness({ ...config, environments: { ...config.environments, production: { ...config.environments.production!, approvers: ['role:leads', 'carol'], approvalTimeoutMs: 600_000 } } });
  }

  test('a deployment to a protected environment waits for an approver, then runs', async () => {
    const h = await protectedHarness();
    const { deployment, approval } = await h.actions.deploy(bob, { app: 'hello', environment: 'prod' });
    expect(approval).toMatchObject({ state: 'pending', expiresAt: '2026-11-23T10:10:00.000Z' });
    expect(h.events.map((e) => e.type)).toEqual(['deployment.queued', 'approval.requested']);
    await new Promise((r) => setImmediate(r));
    expect(h.provider.started).toHaveLength(0);

    // The requester may not approve their own request; someone who is not an approver may not either.
    await expect(h.actions.decideApproval(bob, { deploymentId: deployment.id, decision: 'approve' })).rejects.toThrow(/someone else has to approve it/);
    await expect(h.actions.decideApproval(alice, { deploymentId: deployment.id, decision: 'approve' })).rejects.toMatchObject({ code: ErrorCode.Forbidden });

    const { approval: granted } = await h.actions.decideApproval({ id: 'carol' }, { deploymentId: deployment.id, decision: 'approve' });
    expect(granted).toMatchObject({ state: 'approved', decidedBy: 'carol' });
    // A double click changes nothing and says who decided.
    await expect(h.actions.decideApproval({ id: 'carol' }, { deploymentId: deployment.id, decision: 'deny' })).rejects.toThrow(/was already approved by carol/);

    await h.provider.untilStarted(1);
    h.provider.finish(deployment.id);
    await h.runner.idle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    expect((await h.store.listAudit({ action: 'approval.grant' })).map((a) => `${a.actor}:${a.outcome}`)).toEqual(['carol:ok', 'alice:denied', 'bob:denied']);
  });

  test('denied and expired requests cancel the deployment; dry runs need no approval', async () => {
    const h = await protectedHarness();
    const denied = await h.actions.deploy(bob, { app: 'hello', environment: 'production', ref: 'a' });
    await h.actions.decideApproval({ id: 'carol' }, { deploymentId: denied.deployment.id, decision: 'deny' });
    expect(await h.store.getDeployment(denied.deployment.id)).toMatchObject({ state: 'cancelled', reason: 'approval denied by carol' });

    const late = await h.actions.deploy(bob, { app: 'hello', environment: 'production', ref: 'b' });
    const { expireApprovals } = await import('../../../src/actions/approve.js');
    expect(await expireApprovals(h.ctx)).toBe(0);
    h.clock.advance(600_000);
    expect(await expireApprovals(h.ctx)).toBe(1);
    expect(await h.store.getDeployment(late.deployment.id)).toMatchObject({ state: 'cancelled', reason: 'approval request expired' });
    await expect(h.actions.decideApproval({ id: 'carol' }, { deploymentId: late.deployment.id, decision: 'approve' })).rejects.toThrow(/already expired/);

    const dry = await h.actions.deploy(bob, { app: 'hello', environment: 'production', ref: 'c', dryRun: true });
    expect(dry.approval).toBeNull();
    await h.provider.untilStarted(1);
    h.provider.finish(dry.deployment.id);
    await h.runner.idle();
    expect(h.events.filter((e) => e.type.startsWith('approval.')).map((e) => e.type)).toEqual(['approval.requested', 'approval.denied', 'approval.requested', 'approval.expired']);
  });
});
