import type { Store } from '../../../src/store/types.js';
import type { NewDeployment, NewInstance, ScriptProcess } from '../../../src/core/model.js';
import { rejection } from './store-contract.js';

/**
 * What every Store backend must do for several processes on one store: instances and their
 * heartbeats, deployments owned by an instance, take-overs of a dead one's deployments, and holds
 * on a target while an interrupted script may still run. A backend's test file calls this with a
 * factory that returns a fresh, migrated, empty store; each store is closed after its test.
 */
export function describeOwnershipContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store ownership contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    /** A timestamp `seconds` after a fixed start, so tests never depend on the real clock. */
    const at = (seconds: number): string => new Date(Date.UTC(2025, 0, 1, 12, 0, seconds)).toISOString();
    const instance = (id: string, overrides: Partial<NewInstance> = {}): NewInstance => ({ id, host: 'box', pidScope: 'boot/pid:[1]', pid: 100, startedAt: at(0), expiresAt: at(30), ...overrides });
    const deployment = (overrides: Partial<NewDeployment> = {}): NewDeployment => ({ app: 'web', environment: 'prod', ref: 'main', provider: 'script', source: 'chat', requestedBy: 'alice', createdAt: at(0), ...overrides });
    const proc: ScriptProcess = { host: 'box', pidScope: 'boot/pid:[1]', pgid: 4242, leaderStart: '123456' };
    const failed = (seconds: number) => ({ state: 'failed' as const, finishedAt: at(seconds), reason: 'interrupted — outcome unknown' });

    /** A deployment of web/prod claimed by instance `owner` (registered, live until 30 s). */
    async function running(owner = 'a', deadline: string | null = at(120)) {
      await store.registerInstance(instance(owner));
      const created = await store.createDeployment(deployment());
      const claimed = await store.claimNextDeployment('web', 'prod', at(1), { owner, deadline });
      expect(claimed?.id).toBe(created.id);
      return created.id;
    }

    describe('instances and heartbeats', () => {
      it('lists a registered instance, and a heartbeat moves its expiry on while it is live', async () => {
        await store.registerInstance(instance('a'));
        expect(await store.listInstances()).toEqual([{ ...instance('a'), stoppedAt: null }]);
        expect(await store.renewInstance('a', at(10), at(40))).toBe(true);
        expect((await store.listInstances())[0]?.expiresAt).toBe(at(40));
      });

      it('refuses the heartbeat of an instance whose expiry passed, that stopped, or that is unknown', async () => {
        await store.registerInstance(instance('a'));
        expect(await store.renewInstance('a', at(30), at(60))).toBe(false); // expiresAt = now is not live
        expect((await store.listInstances())[0]?.expiresAt).toBe(at(30));
        await store.registerInstance(instance('b'));
        await store.stopInstance('b', at(5));
        expect(await store.renewInstance('b', at(6), at(36))).toBe(false);
        expect(await store.renewInstance('nobody', at(6), at(36))).toBe(false);
      });

      it('registers an id again after it was given up: live again, not stopped', async () => {
        await store.registerInstance(instance('a'));
        await store.stopInstance('a', at(5));
        expect(await store.listInstances()).toEqual([]);
        await store.registerInstance(instance('a', { startedAt: at(6), expiresAt: at(36) }));
        expect(await store.listInstances()).toEqual([{ ...instance('a', { startedAt: at(6), expiresAt: at(36) }), stoppedAt: null }]);
        expect(await store.renewInstance('a', at(7), at(37))).toBe(true);
      });

      it('lists the instances not stopped, lapsed ones included, oldest start first', async () => {
        await store.registerInstance(instance('late', { startedAt: at(5) }));
        await store.registerInstance(instance('early', { startedAt: at(1), expiresAt: at(2) }));
        await store.registerInstance(instance('gone', { startedAt: at(0) }));
        await store.stopInstance('gone', at(3));
        expect((await store.listInstances()).map((i) => i.id)).toEqual(['early', 'late']);
      });

      it('stopping an instance hands back the jobs it leases, due at once, attempts kept; others keep theirs', async () => {
        await store.registerInstance(instance('a'));
        const mine = await store.enqueueJob({ type: 't', payload: {}, runAt: at(0) });
        const theirs = await store.enqueueJob({ type: 't', payload: {}, runAt: at(0) });
        const claimedMine = await store.claimJob('a', at(1), 300_000);
        const claimedTheirs = await store.claimJob('b', at(1), 300_000);
        expect([claimedMine?.id, claimedTheirs?.id]).toEqual([mine?.id, theirs?.id]);
        expect(await store.stopInstance('a', at(5))).toBe(1);
        expect(await store.getJob(mine!.id)).toMatchObject({ state: 'pending', runAt: at(5), leaseOwner: null, leaseExpiresAt: null, attempts: 1 });
        expect(await store.getJob(theirs!.id)).toMatchObject({ state: 'running', leaseOwner: 'b' });
        expect(await store.stopInstance('a', at(6))).toBe(0); // idempotent
        expect(await store.stopInstance('nobody', at(6))).toBe(0);
        // Taken by the next worker at once, not after the lease it had.
        expect((await store.claimJob('c', at(5), 30_000))?.id).toBe(mine?.id);
      });

      it("a run's API token dies when its instance is stopped", async () => {
        await store.registerInstance(instance('a'));
        const job = await store.enqueueJob({ type: 't', payload: {}, runAt: at(0) });
        const claimed = await store.claimJob('a', at(1), 300_000);
        await store.createApiToken({ hash: 'h', actor: 'reaction:x', scopes: ['read'], createdAt: at(1), expiresAt: at(3000), run: { jobId: job!.id, attempt: claimed!.attempts } });
        expect(await store.findApiToken('h', at(2))).not.toBeNull();
        await store.stopInstance('a', at(3));
        expect(await store.findApiToken('h', at(4))).toBeNull();
      });
    });

    describe('owned deployments', () => {
      it("records the claim's owner and deadline; a live owner's deployment is no orphan", async () => {
        const id = await running('a');
        expect(await store.listOrphanedDeployments(at(10))).toEqual([]);
        const [orphan] = await store.listOrphanedDeployments(at(30)); // the heartbeat lapsed
        expect(orphan?.deployment).toMatchObject({ id, state: 'running' });
        expect(orphan?.run).toEqual({ owner: 'a', deadline: at(120), process: null, heldUntil: null });
      });

      it('a deployment claimed without an owner, or by an unknown or stopped instance, is an orphan at once', async () => {
        const first = await store.createDeployment(deployment());
        await store.claimNextDeployment('web', 'prod', at(1));
        const second = await store.createDeployment(deployment({ app: 'api' }));
        await store.claimNextDeployment('api', 'prod', at(1), { owner: 'never-registered', deadline: null });
        await store.registerInstance(instance('c'));
        const third = await store.createDeployment(deployment({ app: 'db' }));
        await store.claimNextDeployment('db', 'prod', at(1), { owner: 'c', deadline: null });
        await store.stopInstance('c', at(2));
        const orphans = await store.listOrphanedDeployments(at(3));
        expect(orphans.map((o) => [o.deployment.id, o.run.owner])).toEqual([
          [first.id, null],
          [second.id, 'never-registered'],
          [third.id, 'c'],
        ]);
      });

      it('never lists mirrored deployments (they run elsewhere)', async () => {
        const mirrored = await store.createDeployment(deployment({ provider: 'external:github', external: { system: 'github', id: '1' } }));
        await store.markMirrorStarted(mirrored.id, at(1));
        expect(await store.listOrphanedDeployments(at(100))).toEqual([]);
      });

      it("records the script's process group, only for its owner and only while it runs", async () => {
        const id = await running('a');
        expect(await store.recordDeploymentProcess(id, 'b', proc)).toBe(false);
        expect(await store.recordDeploymentProcess(id, 'a', proc)).toBe(true);
        expect((await store.listOrphanedDeployments(at(31)))[0]?.run.process).toEqual(proc);
        await store.finishDeployment(id, { state: 'succeeded', finishedAt: at(40) });
        expect(await store.recordDeploymentProcess(id, 'a', { ...proc, pgid: 1 })).toBe(false);
      });

      it("never takes over a live instance's deployment", async () => {
        const id = await running('a');
        expect(await store.takeOverDeployment(id, at(10), failed(10), null)).toBeNull();
        expect(await store.getDeployment(id)).toMatchObject({ state: 'running', reason: null });
        // The heartbeat keeps it live past its first expiry.
        expect(await store.renewInstance('a', at(20), at(50))).toBe(true);
        expect(await store.takeOverDeployment(id, at(40), failed(40), null)).toBeNull();
      });

      it("takes over a dead owner's deployment once; the old owner's late outcome is refused", async () => {
        const id = await running('a');
        const taken = await store.takeOverDeployment(id, at(31), failed(31), null);
        expect(taken).toMatchObject({ id, state: 'failed', finishedAt: at(31), reason: 'interrupted — outcome unknown' });
        expect(await store.takeOverDeployment(id, at(32), failed(32), null)).toBeNull();
        expect((await rejection(store.finishDeployment(id, { state: 'succeeded', finishedAt: at(33) }))).code).toBe('E_CONFLICT');
        expect(await store.listOrphanedDeployments(at(40))).toEqual([]);
        // Nothing holds the target: the next one starts.
        const next = await store.createDeployment(deployment());
        expect((await store.claimNextDeployment('web', 'prod', at(41)))?.id).toBe(next.id);
      });

      it('a queued or finished deployment cannot be taken over', async () => {
        const queued = await store.createDeployment(deployment());
        expect(await store.takeOverDeployment(queued.id, at(1), failed(1), null)).toBeNull();
        expect(await store.getDeployment(queued.id)).toMatchObject({ state: 'queued' });
      });
    });

    describe("adoption: a dead owner's deployment moves, still running, to a live instance", () => {
      it("refuses while the owner is live; once its heartbeat lapsed, moves it to the adopter, running, deadline kept, process cleared", async () => {
        const id = await running('a');
        await store.recordDeploymentProcess(id, 'a', proc);
        await store.registerInstance(instance('b', { expiresAt: at(90) }));
        expect(await store.adoptDeployment(id, 'b', at(10))).toBeNull();
        expect(await store.listOrphanedDeployments(at(10))).toEqual([]);
        const adopted = await store.adoptDeployment(id, 'b', at(31));
        expect(adopted).toMatchObject({ id, state: 'running', finishedAt: null, reason: null });
        // b is live: no orphan any more, and a's return cannot take it back.
        expect(await store.listOrphanedDeployments(at(32))).toEqual([]);
        await store.registerInstance(instance('a', { startedAt: at(33), expiresAt: at(120) }));
        expect(await store.adoptDeployment(id, 'a', at(34))).toBeNull();
        expect(await store.takeOverDeployment(id, at(34), failed(34), null)).toBeNull();
        // Once b is gone too, it is an orphan again, owned by b, with the claim's deadline and no process.
        await store.stopInstance('b', at(40));
        const [orphan] = await store.listOrphanedDeployments(at(41));
        expect(orphan?.run).toEqual({ owner: 'b', deadline: at(120), process: null, heldUntil: null });
        // Its outcome is recorded once, by whoever finishes it.
        expect(await store.adoptDeployment(id, 'a', at(42))).toMatchObject({ id, state: 'running' });
        expect(await store.finishDeployment(id, { state: 'succeeded', finishedAt: at(50) })).toMatchObject({ state: 'succeeded' });
        expect((await rejection(store.finishDeployment(id, { state: 'failed', finishedAt: at(51) }))).code).toBe('E_CONFLICT');
      });

      it('of several live instances adopting one orphan, exactly one gets it', async () => {
        const id = await running('a');
        await store.stopInstance('a', at(2));
        for (const other of ['b', 'c', 'd']) await store.registerInstance(instance(other));
        const results = await Promise.all(['b', 'c', 'd'].map((other) => store.adoptDeployment(id, other, at(3))));
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it('an adopter that is not live (stopped, lapsed, unknown) gets nothing', async () => {
        const id = await running('a');
        await store.stopInstance('a', at(2));
        await store.registerInstance(instance('stopped'));
        await store.stopInstance('stopped', at(2));
        await store.registerInstance(instance('lapsed', { expiresAt: at(3) }));
        expect(await store.adoptDeployment(id, 'stopped', at(4))).toBeNull();
        expect(await store.adoptDeployment(id, 'lapsed', at(4))).toBeNull();
        expect(await store.adoptDeployment(id, 'nobody', at(4))).toBeNull();
        expect((await store.listOrphanedDeployments(at(4))).map((o) => o.run.owner)).toEqual(['a']);
      });

      it('a queued, finished or mirrored deployment is never adopted', async () => {
        await store.registerInstance(instance('b'));
        const queued = await store.createDeployment(deployment({ app: 'api' }));
        expect(await store.adoptDeployment(queued.id, 'b', at(1))).toBeNull();
        const id = await running('a');
        await store.takeOverDeployment(id, at(31), failed(31), null);
        await store.registerInstance(instance('c', { expiresAt: at(90) }));
        expect(await store.adoptDeployment(id, 'c', at(32))).toBeNull();
        const mirrored = await store.createDeployment(deployment({ app: 'mirror', provider: 'external:octopus', external: { system: 'octopus', id: 'Deployments-1' } }));
        await store.markMirrorStarted(mirrored.id, at(1));
        expect(await store.adoptDeployment(mirrored.id, 'c', at(32))).toBeNull();
        expect(await store.getDeployment(mirrored.id)).toMatchObject({ state: 'running' });
      });
    });

    describe('holds: never two deploy scripts of one target at once', () => {
      it('holds the target until heldUntil: nothing is claimed meanwhile, though nothing runs', async () => {
        const id = await running('a');
        const next = await store.createDeployment(deployment());
        await store.takeOverDeployment(id, at(31), failed(31), at(120));
        expect(await store.getDeployment(id)).toMatchObject({ state: 'failed' });
        expect(await store.claimNextDeployment('web', 'prod', at(60), { owner: 'b', deadline: null })).toBeNull();
        expect(await store.claimNextDeployment('web', 'prod', at(119))).toBeNull();
        const held = await store.listOrphanedDeployments(at(60));
        expect(held.map((o) => [o.deployment.id, o.deployment.state, o.run.heldUntil])).toEqual([[id, 'failed', at(120)]]);
        // Other targets are not held.
        const other = await store.createDeployment(deployment({ environment: 'staging' }));
        expect((await store.claimNextDeployment('web', 'staging', at(60)))?.id).toBe(other.id);
        // At heldUntil the hold lapses by itself.
        expect((await store.claimNextDeployment('web', 'prod', at(120)))?.id).toBe(next.id);
        // The held one is not listed any more; the new one is (claimed without an owner).
        expect((await store.listOrphanedDeployments(at(121))).filter((o) => o.deployment.environment === 'prod').map((o) => [o.deployment.id, o.run.heldUntil])).toEqual([[next.id, null]]);
      });

      it('lists a lapsed hold until a claim lets it go', async () => {
        const id = await running('a');
        await store.takeOverDeployment(id, at(31), failed(31), at(60));
        expect((await store.listOrphanedDeployments(at(90))).map((o) => o.run.heldUntil)).toEqual([at(60)]);
      });

      it('releaseHold frees the target at once, once', async () => {
        const id = await running('a');
        const next = await store.createDeployment(deployment());
        await store.takeOverDeployment(id, at(31), failed(31), at(500));
        expect(await store.releaseHold(id)).toBe(true);
        expect(await store.releaseHold(id)).toBe(false);
        expect(await store.listOrphanedDeployments(at(32))).toEqual([]);
        expect((await store.claimNextDeployment('web', 'prod', at(32)))?.id).toBe(next.id);
      });

      it('a heldUntil that is not later than now holds nothing', async () => {
        const id = await running('a');
        await store.takeOverDeployment(id, at(31), failed(31), at(31));
        expect(await store.listOrphanedDeployments(at(31))).toEqual([]);
        expect(await store.releaseHold(id)).toBe(false);
      });

      it('a running deployment and a hold are each the one thing on a target: neither lets a claim through', async () => {
        const id = await running('a');
        await store.createDeployment(deployment());
        expect(await store.claimNextDeployment('web', 'prod', at(2), { owner: 'a', deadline: null })).toBeNull();
        await store.takeOverDeployment(id, at(31), failed(31), at(90));
        expect(await store.claimNextDeployment('web', 'prod', at(32), { owner: 'a', deadline: null })).toBeNull();
      });
    });
  });
}
