import { DeckhandError, type ErrorCode } from '../../../src/core/errors.js';
import type { Store } from '../../../src/store/types.js';
import type { ApiToken, Lock, NewDeployment, PendingConfirmation } from '../../../src/core/model.js';

/**
 * The behaviour every Store backend must have. A backend's test file calls this with a factory
 * that returns a fresh, migrated, empty store; the suite closes each store after its test.
 */
export function describeStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      await store.close();
    });

    /** A timestamp `minutes` after a fixed start, so tests never depend on the real clock. */
    const at = (minutes: number): string => new Date(Date.UTC(2025, 0, 1, 12, minutes)).toISOString();

    const deployment = (overrides: Partial<NewDeployment> = {}): NewDeployment => ({
      app: 'web',
      environment: 'prod',
      ref: 'main',
      provider: 'script',
      source: 'chat',
      requestedBy: 'alice',
      createdAt: at(0),
      ...overrides,
    });

    const lock = (overrides: Partial<Lock> = {}): Lock => ({
      environment: 'prod',
      app: null,
      holder: 'alice',
      reason: 'release freeze',
      since: at(0),
      ...overrides,
    });

    async function createMany(count: number, overrides: Partial<NewDeployment> = {}): Promise<number[]> {
      const ids: number[] = [];
      for (let i = 0; i < count; i++) ids.push((await store.createDeployment(deployment(overrides))).id);
      return ids;
    }

    describe('lifecycle', () => {
      it('answers ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('can migrate again without losing data', async () => {
        const created = await store.createDeployment(deployment());
        await store.migrate();
        expect(await store.getDeployment(created.id)).toEqual(created);
      });
    });

    describe('createDeployment / getDeployment', () => {
      it('creates a queued deployment with defaults for the optional fields', async () => {
        const created = await store.createDeployment(deployment());
        expect(created).toEqual({
          id: expect.any(Number),
          app: 'web',
          environment: 'prod',
          ref: 'main',
          state: 'queued',
          provider: 'script',
          source: 'chat',
          requestedBy: 'alice',
          room: null,
          dryRun: false,
          forced: false,
          rollbackOf: null,
          createdAt: at(0),
          startedAt: null,
          finishedAt: null,
          exitCode: null,
          reason: null,
          logTail: null,
          origin: null,
          logToken: expect.any(String),
          external: null,
        });
        expect(await store.getDeployment(created.id)).toEqual(created);
      });

      it('round-trips booleans, room and rollbackOf', async () => {
        const original = await store.createDeployment(deployment());
        const rollback = await store.createDeployment(
          deployment({ room: '#ops', dryRun: true, forced: true, rollbackOf: original.id, source: 'api' }),
        );
        expect(rollback).toMatchObject({ room: '#ops', dryRun: true, forced: true, rollbackOf: original.id, source: 'api' });
        expect(await store.getDeployment(rollback.id)).toEqual(rollback);
      });

      it('gives increasing ids', async () => {
        const [first, second] = await createMany(2);
        expect(second).toBeGreaterThan(first!);
      });

      it('rejects a rollbackOf that names no deployment with E_NOT_FOUND', async () => {
        const err = await rejection(store.createDeployment(deployment({ rollbackOf: 9999 })));
        expect(err.code).toBe('E_NOT_FOUND');
        expect(await store.listDeployments()).toEqual([]);
      });

      it('returns null for an unknown id', async () => {
        expect(await store.getDeployment(12345)).toBeNull();
      });
    });

    describe('external deployments', () => {
      const github = (id: string) => ({ system: 'github', id, repository: 'acme/web' });

      it('links a deployment to its twin elsewhere and finds it by (system, id)', async () => {
        const created = await store.createDeployment(deployment());
        expect(created.external).toBeNull();
        const linked = await store.linkExternal(created.id, { ...github('77'), environmentUrl: 'https://web.example' });
        expect(linked.external).toEqual({ ...github('77'), environmentUrl: 'https://web.example' });
        expect(await store.findByExternal('github', '77')).toEqual(linked);
        expect(await store.findByExternal('github', '78')).toBeNull();
        expect(await store.findByExternal('octopus', '77')).toBeNull();
      });

      it('refuses to link a second deployment to the same twin (E_CONFLICT), at creation or later', async () => {
        await store.createDeployment(deployment({ external: github('5') }));
        expect((await rejection(store.createDeployment(deployment({ external: github('5') })))).code).toBe('E_CONFLICT');
        const other = await store.createDeployment(deployment());
        expect((await rejection(store.linkExternal(other.id, github('5')))).code).toBe('E_CONFLICT');
        expect((await rejection(store.linkExternal(999_999, github('6')))).code).toBe('E_NOT_FOUND');
      });

      it('never claims a mirrored deployment, and a running mirror does not block the queue', async () => {
        const mirror = await store.createDeployment(deployment({ provider: 'external:github', external: github('9') }));
        expect(await store.claimNextDeployment('web', 'prod', at(1))).toBeNull();
        expect(await store.markMirrorStarted(mirror.id, at(2))).toMatchObject({ state: 'running', startedAt: at(2) });
        expect(await store.markMirrorStarted(mirror.id, at(3))).toBeNull();
        const own = await store.createDeployment(deployment());
        expect(await store.claimNextDeployment('web', 'prod', at(4))).toMatchObject({ id: own.id, state: 'running' });
        expect(await store.markMirrorStarted(own.id, at(5))).toBeNull();
      });
    });

    describe('incidents', () => {
      it('moves an incident forward, ignores repeats and late phases, and opens a new generation after a resolution', async () => {
        const first = await store.recordIncident({ entityId: 'db/disk', phase: 'triggered', at: at(1), title: 'Disk full', routingKey: 'ops' });
        expect(first).toEqual({ changed: true, incident: { entityId: 'db/disk', generation: 1, number: null, phase: 'triggered', title: 'Disk full', message: null, routingKey: 'ops', by: null, updatedAt: at(1) } });
        expect((await store.recordIncident({ entityId: 'db/disk', phase: 'triggered', at: at(2) })).changed).toBe(false);
        const acked = await store.recordIncident({ entityId: 'db/disk', phase: 'acknowledged', at: at(3), by: 'jdoe' });
        expect(acked).toMatchObject({ changed: true, incident: { phase: 'acknowledged', by: 'jdoe', title: 'Disk full', generation: 1 } });
        // Late, but it tells the number.
        expect(await store.recordIncident({ entityId: 'db/disk', phase: 'triggered', at: at(4), number: '42' })).toMatchObject({ changed: false, incident: { phase: 'acknowledged', number: '42' } });
        await store.recordIncident({ entityId: 'db/disk', phase: 'resolved', at: at(5), by: 'asmith' });
        expect(await store.getIncident('db/disk')).toMatchObject({ phase: 'resolved', by: 'asmith', number: '42', generation: 1 });
        const again = await store.recordIncident({ entityId: 'db/disk', phase: 'triggered', at: at(6), title: 'Disk full again' });
        expect(again).toMatchObject({ changed: true, incident: { generation: 2, phase: 'triggered', number: null, by: null, title: 'Disk full again' } });
        expect(await store.getIncident('nothing')).toBeNull();
      });
    });

    describe('claimNextDeployment', () => {
      it('returns null when nothing is queued', async () => {
        expect(await store.claimNextDeployment('web', 'prod', at(1))).toBeNull();
      });

      it('moves the oldest queued deployment to running', async () => {
        const [oldest, newer] = await createMany(2);
        const claimed = await store.claimNextDeployment('web', 'prod', at(5));
        expect(claimed).toMatchObject({ id: oldest, state: 'running', startedAt: at(5) });
        expect(await store.getDeployment(oldest!)).toEqual(claimed);
        expect((await store.getDeployment(newer!))?.state).toBe('queued');
      });

      it('claims nothing while a deployment of the same target is running', async () => {
        const [first, second] = await createMany(2);
        await store.claimNextDeployment('web', 'prod', at(1));
        expect(await store.claimNextDeployment('web', 'prod', at(2))).toBeNull();

        await store.finishDeployment(first!, { state: 'succeeded', finishedAt: at(3) });
        expect(await store.claimNextDeployment('web', 'prod', at(4))).toMatchObject({ id: second });
      });

      it('treats other targets independently', async () => {
        await createMany(1);
        const [otherEnv] = await createMany(1, { environment: 'staging' });
        const [otherApp] = await createMany(1, { app: 'api' });
        await store.claimNextDeployment('web', 'prod', at(1));

        expect(await store.claimNextDeployment('web', 'staging', at(2))).toMatchObject({ id: otherEnv });
        expect(await store.claimNextDeployment('api', 'prod', at(2))).toMatchObject({ id: otherApp });
      });

      it('gives a deployment to only one of several concurrent callers', async () => {
        await createMany(3);
        const results = await Promise.all(
          Array.from({ length: 5 }, () => store.claimNextDeployment('web', 'prod', at(1))),
        );
        expect(results.filter((result) => result !== null)).toHaveLength(1);
        expect(await store.listDeployments({ states: ['running'] })).toHaveLength(1);
      });
    });

    describe('finishDeployment', () => {
      it('finishes a running deployment with its outcome', async () => {
        const { id } = await store.createDeployment(deployment());
        await store.claimNextDeployment('web', 'prod', at(1));
        const finished = await store.finishDeployment(id, {
          state: 'failed',
          finishedAt: at(2),
          exitCode: 3,
          reason: 'exit code 3',
          logTail: 'boom\n',
        });
        expect(finished).toMatchObject({
          id,
          state: 'failed',
          startedAt: at(1),
          finishedAt: at(2),
          exitCode: 3,
          reason: 'exit code 3',
          logTail: 'boom\n',
        });
        expect(await store.getDeployment(id)).toEqual(finished);
      });

      it('cancels a queued deployment, which never started', async () => {
        const { id } = await store.createDeployment(deployment());
        const cancelled = await store.finishDeployment(id, { state: 'cancelled', finishedAt: at(1) });
        expect(cancelled).toMatchObject({ state: 'cancelled', startedAt: null, exitCode: null, reason: null, logTail: null });
      });

      it('refuses to finish a deployment twice with E_CONFLICT', async () => {
        const { id } = await store.createDeployment(deployment());
        const first = await store.finishDeployment(id, { state: 'succeeded', finishedAt: at(1), exitCode: 0 });
        const err = await rejection(store.finishDeployment(id, { state: 'failed', finishedAt: at(2) }));
        expect(err.code).toBe('E_CONFLICT');
        expect(await store.getDeployment(id)).toEqual(first);
      });

      it('throws E_NOT_FOUND for an unknown id', async () => {
        const err = await rejection(store.finishDeployment(4242, { state: 'succeeded', finishedAt: at(1) }));
        expect(err.code).toBe('E_NOT_FOUND');
      });
    });

    describe('listDeployments', () => {
      it('returns the newest 10 by default', async () => {
        const ids = await createMany(12);
        const listed = await store.listDeployments();
        expect(listed.map((d) => d.id)).toEqual(ids.slice(2).reverse());
      });

      it('honours a limit and caps it at 100', async () => {
        await createMany(105);
        expect(await store.listDeployments({ limit: 3 })).toHaveLength(3);
        expect(await store.listDeployments({ limit: 1000 })).toHaveLength(100);
      });

      it('filters by app, environment and states', async () => {
        const [webProd] = await createMany(1);
        const [webStaging] = await createMany(1, { environment: 'staging' });
        const [apiProd] = await createMany(1, { app: 'api' });
        await store.claimNextDeployment('api', 'prod', at(1));
        await store.finishDeployment(webStaging!, { state: 'cancelled', finishedAt: at(1) });

        const ids = async (query: Parameters<Store['listDeployments']>[0]) =>
          (await store.listDeployments(query)).map((d) => d.id);
        expect(await ids({ app: 'web' })).toEqual([webStaging, webProd]);
        expect(await ids({ environment: 'prod' })).toEqual([apiProd, webProd]);
        expect(await ids({ app: 'web', environment: 'prod' })).toEqual([webProd]);
        expect(await ids({ states: ['running', 'cancelled'] })).toEqual([apiProd, webStaging]);
        expect(await ids({ states: ['queued'], environment: 'prod' })).toEqual([webProd]);
        expect(await ids({ states: [] })).toEqual([]);
      });

      it('pages with beforeId', async () => {
        const ids = await createMany(5);
        const page = await store.listDeployments({ beforeId: ids[3]!, limit: 2 });
        expect(page.map((d) => d.id)).toEqual([ids[2], ids[1]]);
      });
    });

    describe('releases', () => {
      const release = { app: 'web', version: '1.2.0', createdBy: 'alice', createdAt: at(0) };

      it('creates and gets a release', async () => {
        const created = await store.createRelease({ ...release, notes: 'faster' });
        expect(created).toEqual({ id: expect.any(Number), ...release, notes: 'faster' });
        expect(await store.getRelease('web', '1.2.0')).toEqual(created);
        expect(await store.getRelease('web', '9.9.9')).toBeNull();
      });

      it('defaults notes to null', async () => {
        expect((await store.createRelease(release)).notes).toBeNull();
      });

      it('rejects a duplicate (app, version) with E_RELEASE_EXISTS and the existing release', async () => {
        const existing = await store.createRelease(release);
        const err = await rejection(store.createRelease({ ...release, createdBy: 'bob', notes: 'again' }));
        expect(err.code).toBe('E_RELEASE_EXISTS');
        expect(err.details.release).toEqual(existing);
        expect(await store.getRelease('web', '1.2.0')).toEqual(existing);
      });

      it('allows the same version for another app', async () => {
        await store.createRelease(release);
        await expect(store.createRelease({ ...release, app: 'api' })).resolves.toMatchObject({ app: 'api' });
      });

      it('lists an app’s releases newest first, 10 by default', async () => {
        for (let i = 0; i < 12; i++) await store.createRelease({ ...release, version: `1.0.${i}` });
        await store.createRelease({ ...release, app: 'api' });

        const listed = await store.listReleases('web');
        expect(listed.map((r) => r.version)).toEqual(
          Array.from({ length: 10 }, (_, i) => `1.0.${11 - i}`),
        );
        expect((await store.listReleases('web', 2)).map((r) => r.version)).toEqual(['1.0.11', '1.0.10']);
        expect(await store.listReleases('nope')).toEqual([]);
      });
    });

    describe('request keys (idempotency): a repeat finds the first result', () => {
      const request = (key: string, hash = 'h1') => ({ key, hash });
      const release = { app: 'web', version: '1.2.0', createdBy: 'alice', createdAt: at(0) };

      it('finds the deployment a key made, with its hash; an unknown key finds nothing', async () => {
        const made = await store.createDeployment(deployment({ request: request('step:a') }));
        expect(await store.findDeploymentByRequest('step:a')).toEqual({ deployment: made, hash: 'h1' });
        expect(await store.findDeploymentByRequest('step:b')).toBeNull();
        // Deployments without a key do not collide with each other.
        await store.createDeployment(deployment());
        await store.createDeployment(deployment());
      });

      it('refuses a second deployment with a used key: E_CONFLICT naming the key and the first deployment', async () => {
        const first = await store.createDeployment(deployment({ request: request('api:alice:k1') }));
        const err = await rejection(store.createDeployment(deployment({ ref: 'other', request: request('api:alice:k1', 'h2') })), 'E_CONFLICT');
        expect(err.details).toMatchObject({ requestKey: 'api:alice:k1', deployment: first });
        expect(await store.listDeployments()).toEqual([first]);
      });

      it('of concurrent creations with one key exactly one inserts; the others get the winner', async () => {
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => store.createDeployment(deployment({ request: request('race') }))));
        const made = results.filter((r) => r.status === 'fulfilled');
        expect(made).toHaveLength(1);
        const winner = (made[0] as PromiseFulfilledResult<{ id: number }>).value;
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'E_CONFLICT', details: { deployment: { id: winner.id } } });
        expect(await store.listDeployments()).toHaveLength(1);
      });

      it('finds the release a key made; a used key is E_CONFLICT with the first release, even for another version', async () => {
        const first = await store.createRelease({ ...release, request: request('step:r') });
        expect(await store.findReleaseByRequest('step:r')).toEqual({ release: first, hash: 'h1' });
        expect(await store.findReleaseByRequest('step:x')).toBeNull();
        const again = await rejection(store.createRelease({ ...release, request: request('step:r') }), 'E_CONFLICT');
        expect(again.details).toMatchObject({ requestKey: 'step:r', release: first });
        const other = await rejection(store.createRelease({ ...release, version: '1.3.0', request: request('step:r', 'h2') }), 'E_CONFLICT');
        expect(other.details.release).toEqual(first);
        expect(await store.getRelease('web', '1.3.0')).toBeNull();
      });

      it('a new key for a version that exists is still E_RELEASE_EXISTS (another request made it)', async () => {
        const existing = await store.createRelease(release);
        const err = await rejection(store.createRelease({ ...release, request: request('step:new') }), 'E_RELEASE_EXISTS');
        expect(err.details.release).toEqual(existing);
        expect(await store.findReleaseByRequest('step:new')).toBeNull();
      });
    });

    describe('locks', () => {
      it('acquires a free lock', async () => {
        const result = await store.acquireLock(lock());
        expect(result).toEqual({ lock: lock(), previous: null });
        expect(await store.getLock('prod', null)).toEqual(lock());
      });

      it('lets the same holder update the reason while keeping since', async () => {
        await store.acquireLock(lock());
        const result = await store.acquireLock(lock({ reason: 'incident 42', since: at(30) }));
        expect(result).toEqual({ lock: lock({ reason: 'incident 42' }), previous: null });
        expect(await store.getLock('prod', null)).toEqual(lock({ reason: 'incident 42' }));
      });

      it('refuses another holder with E_LOCK_HELD naming the holder', async () => {
        await store.acquireLock(lock());
        const err = await rejection(store.acquireLock(lock({ holder: 'bob', reason: 'mine now' })));
        expect(err.code).toBe('E_LOCK_HELD');
        expect(err.message).toContain('alice');
        expect(err.details.lock).toEqual(lock());
        expect(await store.getLock('prod', null)).toEqual(lock());
      });

      it('lets another holder take over and returns the previous lock', async () => {
        await store.acquireLock(lock());
        const bobs = lock({ holder: 'bob', reason: 'hotfix', since: at(10) });
        const result = await store.acquireLock(bobs, { takeover: true });
        expect(result).toEqual({ lock: bobs, previous: lock() });
        expect(await store.getLock('prod', null)).toEqual(bobs);
      });

      it('takes a free lock with takeover as an ordinary acquire', async () => {
        expect(await store.acquireLock(lock(), { takeover: true })).toEqual({ lock: lock(), previous: null });
      });

      it('releases a lock and returns it; null when there is none', async () => {
        await store.acquireLock(lock());
        expect(await store.releaseLock('prod', null)).toEqual(lock());
        expect(await store.getLock('prod', null)).toBeNull();
        expect(await store.releaseLock('prod', null)).toBeNull();
      });

      it('keeps environment-wide and per-app locks apart', async () => {
        const envWide = lock();
        const webLock = lock({ app: 'web', holder: 'bob', reason: null });
        await store.acquireLock(envWide);
        await store.acquireLock(webLock); // a different lock: bob is not refused

        expect(await store.getLock('prod', 'web')).toEqual(webLock);
        expect(await store.getLock('prod', 'api')).toBeNull();
        expect(await store.releaseLock('prod', 'web')).toEqual(webLock);
        expect(await store.getLock('prod', null)).toEqual(envWide);
      });

      it('finds the locks that apply to a deployment with locksFor', async () => {
        const envWide = lock();
        const webLock = lock({ app: 'web', holder: 'bob' });
        await store.acquireLock(envWide);
        await store.acquireLock(webLock);
        await store.acquireLock(lock({ app: 'api' }));
        await store.acquireLock(lock({ environment: 'staging', app: 'web' }));

        expect(await store.locksFor('prod', 'web')).toEqual([envWide, webLock]);
        expect(await store.locksFor('prod', 'worker')).toEqual([envWide]);
        expect(await store.locksFor('qa', 'web')).toEqual([]);
        expect(await store.listLocks()).toHaveLength(4);
      });

      it('lists every lock', async () => {
        expect(await store.listLocks()).toEqual([]);
        await store.acquireLock(lock({ environment: 'staging' }));
        await store.acquireLock(lock({ app: 'web' }));
        expect(await store.listLocks()).toEqual(
          expect.arrayContaining([lock({ environment: 'staging' }), lock({ app: 'web' })]),
        );
      });
    });

    describe('events', () => {
      it('appends events and lists them oldest first', async () => {
        const first = await store.appendEvent({ type: 'deployment.started', at: at(1), data: { id: 1 } });
        const second = await store.appendEvent({ type: 'deployment.finished', at: at(2), data: { id: 1 } });
        expect(first).toEqual({ id: expect.any(Number), type: 'deployment.started', at: at(1), data: { id: 1 } });
        expect(second.id).toBeGreaterThan(first.id);
        expect(await store.listEvents()).toEqual([first, second]);
      });

      it('filters by afterId and type, and honours a limit', async () => {
        const events = [];
        for (let i = 0; i < 5; i++) {
          events.push(await store.appendEvent({ type: i % 2 === 0 ? 'even' : 'odd', at: at(i), data: i }));
        }
        expect(await store.listEvents({ afterId: events[2]!.id })).toEqual(events.slice(3));
        expect((await store.listEvents({ type: 'even' })).map((e) => e.data)).toEqual([0, 2, 4]);
        expect((await store.listEvents({ type: 'even', afterId: events[0]!.id })).map((e) => e.data)).toEqual([2, 4]);
        expect(await store.listEvents({ limit: 2 })).toEqual(events.slice(0, 2));
      });

      it('round-trips JSON data', async () => {
        const payloads: unknown[] = [
          { nested: { list: [1, 'two', null, true], empty: {} }, unicode: 'déploiement ✓' },
          ['a', 1],
          'just a string',
          42,
          null,
        ];
        for (const data of payloads) await store.appendEvent({ type: 'json', at: at(0), data });
        expect((await store.listEvents({ type: 'json' })).map((e) => e.data)).toEqual(payloads);
      });
    });

    describe('deployment origin', () => {
      it('keeps the chat message that asked for a deployment', async () => {
        const origin = { adapter: 'slack', room: 'C1', messageId: '1700000000.000100', thread: null };
        const created = await store.createDeployment(deployment({ origin }));
        expect(created.origin).toEqual(origin);
        expect((await store.getDeployment(created.id))?.origin).toEqual(origin);
        expect((await store.createDeployment(deployment())).origin).toBeNull();
      });
    });

    describe('approvals', () => {
      it('a deployment awaiting approval is not claimed until approved; a second decision is a no-op', async () => {
        const d = await store.createDeployment(deployment({ approval: { expiresAt: at(30) } }));
        const approval = await store.approvalForDeployment(d.id);
        expect(approval).toMatchObject({ deploymentId: d.id, environment: 'prod', requestedBy: 'alice', state: 'pending', expiresAt: at(30), decidedBy: null });
        expect(await store.claimNextDeployment('web', 'prod', at(1))).toBeNull();

        const approved = await store.decideApproval(approval!.id, { state: 'approved', decidedBy: 'bob', decidedAt: at(2) });
        expect(approved).toMatchObject({ state: 'approved', decidedBy: 'bob', decidedAt: at(2) });
        expect(await store.decideApproval(approval!.id, { state: 'denied', decidedBy: 'carol', decidedAt: at(3) })).toBeNull();
        expect((await store.getApproval(approval!.id))?.state).toBe('approved');
        expect((await store.claimNextDeployment('web', 'prod', at(4)))?.id).toBe(d.id);
      });

      it('a later deployment without approval is not held up by one that waits', async () => {
        const waiting = await store.createDeployment(deployment({ approval: { expiresAt: at(30) } }));
        const free = await store.createDeployment(deployment());
        expect((await store.claimNextDeployment('web', 'prod', at(1)))?.id).toBe(free.id);
        expect((await store.getDeployment(waiting.id))?.state).toBe('queued');
      });

      it('lists pending approvals that have expired', async () => {
        const a = await store.createDeployment(deployment({ approval: { expiresAt: at(10) } }));
        await store.createDeployment(deployment({ app: 'api', approval: { expiresAt: at(60) } }));
        expect((await store.listExpiredApprovals(at(9))).map((x) => x.deploymentId)).toEqual([]);
        expect((await store.listExpiredApprovals(at(10))).map((x) => x.deploymentId)).toEqual([a.id]);
        expect(await store.approvalForDeployment((await store.createDeployment(deployment())).id)).toBeNull();
      });
    });

    describe('deployment logs', () => {
      it('keeps lines in order, ignores a repeated seq, and gives each deployment its own token', async () => {
        const a = await store.createDeployment(deployment());
        const b = await store.createDeployment(deployment());
        expect(a.logToken).toMatch(/^[\w-]{20,}$/);
        expect(a.logToken).not.toBe(b.logToken);
        const line = (seq: number, text: string) => ({ seq, stream: 'stdout' as const, line: text, at: at(seq) });
        await store.appendLog(a.id, [line(1, 'one'), line(2, 'two')]);
        await store.appendLog(a.id, [line(2, 'two again'), { ...line(3, 'oops'), stream: 'stderr' }]);
        expect((await store.readLog(a.id)).map((l) => `${l.seq}:${l.stream}:${l.line}`)).toEqual(['1:stdout:one', '2:stdout:two', '3:stderr:oops']);
        expect(await store.readLog(b.id)).toEqual([]);
        expect(await store.readLog(a.id, 1)).toHaveLength(1);
      });
    });

    describe('inbox and jobs', () => {
      const delivery = (deliveryId: string) => ({
        source: 'trigger:myget',
        deliveryId,
        receivedAt: at(0),
        contentType: 'application/json',
        headers: { 'x-request-id': deliveryId },
        query: { env: 'staging' },
        body: { Payload: { PackageVersion: '1.4.0' } },
      });

      it('stores a delivery with its job once; a redelivery is a duplicate with no second job', async () => {
        const first = await store.acceptDelivery(delivery('d-1'), { type: 'delivery', runAt: at(0) });
        expect(first.duplicate).toBe(false);
        expect(await store.getDelivery(first.delivery.id)).toEqual(first.delivery);
        const again = await store.acceptDelivery(delivery('d-1'), { type: 'delivery', runAt: at(1) });
        expect(again).toEqual({ delivery: first.delivery, duplicate: true });
        const jobs = await store.listJobs();
        expect(jobs).toHaveLength(1);
        expect(jobs[0]).toMatchObject({ type: 'delivery', payload: { deliveryId: first.delivery.id }, state: 'pending', attempts: 0 });
      });

      it('acceptDeliveries stores a batch in order in one go: each with its job, duplicates (earlier or in the batch) without one, body text as given', async () => {
        const earlier = await store.acceptDelivery(delivery('b-0'), { type: 'delivery', runAt: at(0) });
        const job = { type: 'delivery', runAt: at(0) };
        const accepted = await store.acceptDeliveries([
          { delivery: delivery('b-1'), job, bodyText: '{ "Payload" : { "PackageVersion" : "1.4.0" } }' },
          { delivery: delivery('b-0'), job },
          { delivery: { ...delivery('b-2'), body: { n: 2 } }, job },
          { delivery: delivery('b-1'), job },
        ]);
        expect(accepted.map((a) => a.duplicate)).toEqual([false, true, false, true]);
        const [b1 = -1, b0 = -1, b2 = -1, b1again = -1] = accepted.map((a) => a.id);
        expect(b0).toBe(earlier.delivery.id);
        expect(b1again).toBe(b1);
        expect(await store.getDelivery(b1)).toEqual({ ...delivery('b-1'), id: b1 });
        expect((await store.getDelivery(b2))?.body).toEqual({ n: 2 });
        const jobs = await store.listJobs();
        expect(jobs.map((j) => j.payload).sort((a, b) => (a as { deliveryId: number }).deliveryId - (b as { deliveryId: number }).deliveryId)).toEqual(
          [earlier.delivery.id, b1, b2].sort((a, b) => a - b).map((deliveryId) => ({ deliveryId })),
        );
        expect(await store.acceptDeliveries([])).toEqual([]);
      });

      it('a delivery read right after acceptDeliveries (parsed once, at the door) equals the one read back from the database', async () => {
        const body = { action: 'closed', pull_request: { number: 7, merged: true, title: 'quote " and \\ and ünïcode', labels: [{ name: 'x' }] }, n: 1.5, none: null };
        const job = { type: 'github', runAt: at(0) };
        const [fresh, dup] = await store.acceptDeliveries([
          { delivery: { ...delivery('f-1'), headers: { 'x-github-event': 'pull_request', 'content-type': 'application/json' }, body }, job, bodyText: JSON.stringify(body) },
          { delivery: { ...delivery('f-1'), body: { other: true } }, job, bodyText: '{"other":true}' },
        ]);
        expect(dup?.duplicate).toBe(true);
        const first = await store.getDelivery(fresh!.id);
        const second = await store.getDelivery(fresh!.id);
        expect(first).toEqual(second);
        expect(second).toMatchObject({ id: fresh!.id, deliveryId: 'f-1', body });
      });

      it('acceptDeliveries is all or nothing: when one item cannot be stored, none of the batch is', async () => {
        const job = { type: 'delivery', runAt: at(0) };
        await expect(
          store.acceptDeliveries([
            { delivery: delivery('n-1'), job },
            { delivery: delivery('n-2'), job: { ...job, type: null as unknown as string } }, // violates NOT NULL
          ]),
          // Not toThrow(): better-sqlite3's native part keeps the SqliteError class of the test file
          // that loaded it first in this jest worker, an Error of another realm, which toThrow() does
          // not count as thrown.
        ).rejects.toHaveProperty('message', expect.stringMatching(/not[- ]null/i));
        expect(await store.listJobs()).toEqual([]);
        expect((await store.acceptDelivery(delivery('n-1'), job)).duplicate).toBe(false);
      });

      it('acceptDeliveries with job.lease inserts the job claimed by the insert: returned as stored, and no other owner claims it before the lease runs out', async () => {
        const lease = { owner: 'w1', expiresAt: at(2) };
        const [leased, pending] = await store.acceptDeliveries([
          { delivery: delivery('l-1'), job: { type: 'delivery', key: 'intake:l-1', runAt: at(0), maxAttempts: 3, lease } },
          { delivery: delivery('l-2'), job: { type: 'delivery', runAt: at(0) } },
        ]);
        expect(leased?.job).toEqual({
          id: expect.any(Number),
          type: 'delivery',
          key: 'intake:l-1',
          payload: { deliveryId: leased!.id },
          state: 'running',
          attempts: 1,
          maxAttempts: 3,
          runAt: at(0),
          leaseOwner: 'w1',
          leaseExpiresAt: at(2),
          lastError: null,
          createdAt: at(0),
          finishedAt: null,
        });
        expect(await store.getJob(leased!.job!.id)).toEqual(leased!.job);
        expect(pending).toEqual({ id: expect.any(Number), duplicate: false });
        // Before the expiry another owner gets only the pending job (leased for ten minutes, so it stays out of the way).
        expect((await store.claimJobs('w2', at(1), 600_000, 10)).map((j) => j.payload)).toEqual([{ deliveryId: pending!.id }]);
        expect(await store.claimJobs('w2', at(1), 600_000, 10)).toEqual([]);
        // w1's lease ran out at minute 2: taken over like any claimed job, as its second attempt.
        const taken = await store.claimJobs('w2', at(3), 60_000, 10);
        expect(taken.map((j) => [j.id, j.attempts, j.leaseOwner])).toEqual([[leased!.job!.id, 2, 'w2']]);
      });

      it('acceptDeliveries: a duplicate (earlier or in the batch) carries no job even when leased, and the earlier job is left as it was', async () => {
        const lease = { owner: 'w1', expiresAt: at(5) };
        const [earlier] = await store.acceptDeliveries([{ delivery: delivery('u-1'), job: { type: 'delivery', runAt: at(0) } }]);
        const [dup, fresh, dupInBatch] = await store.acceptDeliveries([
          { delivery: delivery('u-1'), job: { type: 'delivery', runAt: at(0), lease } },
          { delivery: delivery('u-2'), job: { type: 'delivery', runAt: at(0), lease } },
          { delivery: delivery('u-2'), job: { type: 'delivery', runAt: at(0), lease } },
        ]);
        expect(dup).toEqual({ id: earlier!.id, duplicate: true });
        expect(dupInBatch).toEqual({ id: fresh!.id, duplicate: true });
        expect(fresh?.job).toMatchObject({ state: 'running', payload: { deliveryId: fresh!.id } });
        const jobs = await store.listJobs();
        expect(jobs).toHaveLength(2);
        expect(jobs.find((j) => (j.payload as { deliveryId: number }).deliveryId === earlier!.id)).toMatchObject({ state: 'pending', attempts: 0, leaseOwner: null });
      });

      it('acceptDeliveries: a leased delivery whose job key is taken is stored, without a job to hand over', async () => {
        await store.enqueueJob({ type: 'delivery', key: 'taken', payload: {}, runAt: at(0) });
        const [stored] = await store.acceptDeliveries([{ delivery: delivery('k-1'), job: { type: 'delivery', key: 'taken', runAt: at(0), lease: { owner: 'w1', expiresAt: at(5) } } }]);
        expect(stored).toEqual({ id: expect.any(Number), duplicate: false });
        expect((await store.getDelivery(stored!.id))?.deliveryId).toBe('k-1');
        expect(await store.listJobs()).toMatchObject([{ key: 'taken', state: 'pending', attempts: 0 }]);
      });

      it('acceptDeliveries with job.doneAtIntake stores the job done (attempts 0, finished when received): never claimed, listed as ignored', async () => {
        const [done] = await store.acceptDeliveries([{ delivery: { ...delivery('z-1'), receivedAt: at(3) }, job: { type: 'delivery', runAt: at(3), doneAtIntake: true } }]);
        expect(done).toEqual({ id: expect.any(Number), duplicate: false });
        const jobs = await store.listJobs();
        expect(jobs).toEqual([expect.objectContaining({ payload: { deliveryId: done!.id }, state: 'done', attempts: 0, finishedAt: at(3), createdAt: at(3), leaseOwner: null, leaseExpiresAt: null })]);
        expect(await store.claimJobs('w1', at(30), 60_000, 10)).toEqual([]);
        expect(await store.claimJob('w1', at(30), 60_000)).toBeNull();
        expect(await store.jobStats(at(30))).toEqual([]);
        const page = await store.listDeliveries({ id: done!.id });
        expect(page.deliveries).toEqual([expect.objectContaining({ id: done!.id, deliveryId: 'z-1', outcome: 'ignored', jobs: 1, job: { id: jobs[0]!.id, type: 'delivery', state: 'done', attempts: 0, lastError: null, finishedAt: at(3) } })]);
      });

      it('listDeliveries by outcome tells ignored (done at intake) from done (run): each filter finds only its own', async () => {
        const [ignored, run] = await store.acceptDeliveries([
          { delivery: delivery('o-ignored'), job: { type: 'delivery', runAt: at(0), doneAtIntake: true } },
          { delivery: delivery('o-run'), job: { type: 'delivery', runAt: at(0) } },
        ]);
        const [claimed] = await store.claimJobs('w1', at(1), 60_000, 1);
        await store.completeJob(claimed!.id, 'w1', at(2));
        const ids = async (outcome: 'done' | 'ignored') => (await store.listDeliveries({ outcome })).deliveries.map((d) => [d.id, d.outcome]);
        expect(await ids('ignored')).toEqual([[ignored!.id, 'ignored']]);
        expect(await ids('done')).toEqual([[run!.id, 'done']]);
        expect((await store.listDeliveries({})).deliveries.map((d) => d.outcome).sort()).toEqual(['done', 'ignored']);
      });

      it('acceptDeliveries marks the `done` jobs done in the same transaction, each only if the owner still holds it', async () => {
        for (const n of [1, 2, 3]) await store.enqueueJob({ type: 'x', payload: { n }, runAt: at(0) });
        const [a, b, c] = await store.claimJobs('w1', at(0), 60_000, 3);
        const [fresh] = await store.acceptDeliveries([{ delivery: delivery('c-1'), job: { type: 'delivery', runAt: at(0) } }], [
          { id: a!.id, owner: 'w1', now: at(1) },
          { id: b!.id, owner: 'someone-else', now: at(1) },
        ]);
        expect(fresh).toEqual({ id: expect.any(Number), duplicate: false });
        expect(await store.getJob(a!.id)).toMatchObject({ state: 'done', finishedAt: at(1), leaseOwner: null, leaseExpiresAt: null });
        expect(await store.getJob(b!.id)).toMatchObject({ state: 'running', leaseOwner: 'w1', finishedAt: null });
        // Completions alone, without deliveries.
        expect(await store.acceptDeliveries([], [{ id: b!.id, owner: 'w1', now: at(2) }])).toEqual([]);
        expect(await store.getJob(b!.id)).toMatchObject({ state: 'done', finishedAt: at(2) });
        // All or nothing: a batch that fails marks nothing done either.
        await expect(
          store.acceptDeliveries([{ delivery: delivery('c-2'), job: { type: null as unknown as string, runAt: at(0) } }], [{ id: c!.id, owner: 'w1', now: at(3) }]),
        ).rejects.toHaveProperty('message', expect.stringMatching(/not[- ]null/i));
        expect(await store.getJob(c!.id)).toMatchObject({ state: 'running', leaseOwner: 'w1', finishedAt: null });
      });

      it('claimJobs takes up to `limit` due jobs at once, oldest first, each leased once; expired leases are taken over', async () => {
        const a = await store.enqueueJob({ type: 'x', payload: { n: 'a' }, runAt: at(1) });
        const b = await store.enqueueJob({ type: 'x', payload: { n: 'b' }, runAt: at(0) });
        const c = await store.enqueueJob({ type: 'x', payload: { n: 'c' }, runAt: at(1) });
        await store.enqueueJob({ type: 'x', payload: { n: 'later' }, runAt: at(5) });
        expect(await store.claimJobs('w1', at(1), 60_000, 0)).toEqual([]);
        const first = await store.claimJobs('w1', at(1), 60_000, 2);
        expect(first.map((j) => [j.id, j.state, j.attempts, j.leaseOwner])).toEqual([
          [b!.id, 'running', 1, 'w1'],
          [a!.id, 'running', 1, 'w1'],
        ]);
        expect((await store.claimJobs('w2', at(1), 60_000, 5)).map((j) => j.id)).toEqual([c!.id]);
        expect(await store.claimJobs('w2', at(1), 60_000, 5)).toEqual([]);
        // A minute's lease is over at minute 3: all three are taken over, in order; the later one is not due yet.
        const taken = await store.claimJobs('w3', at(3), 60_000, 10);
        expect(taken.map((j) => [j.id, j.attempts, j.leaseOwner])).toEqual([
          [b!.id, 2, 'w3'],
          [a!.id, 2, 'w3'],
          [c!.id, 2, 'w3'],
        ]);
      });

      it('completeJobs marks several jobs done at once, each only if the owner still holds it', async () => {
        for (const n of [1, 2, 3]) await store.enqueueJob({ type: 'x', payload: { n }, runAt: at(0) });
        const [a, b, c] = await store.claimJobs('w1', at(0), 60_000, 3);
        await store.completeJobs([]);
        await store.completeJobs([
          { id: a!.id, owner: 'w1', now: at(1) },
          { id: b!.id, owner: 'w1', now: at(2) },
          { id: c!.id, owner: 'someone-else', now: at(1) },
        ]);
        expect(await store.getJob(a!.id)).toMatchObject({ state: 'done', finishedAt: at(1), leaseOwner: null });
        expect(await store.getJob(b!.id)).toMatchObject({ state: 'done', finishedAt: at(2) });
        expect(await store.getJob(c!.id)).toMatchObject({ state: 'running', leaseOwner: 'w1' });
      });

      it('claims due jobs once, with a lease; an expired lease lets another worker take over', async () => {
        const job = await store.enqueueJob({ type: 'x', payload: { n: 1 }, runAt: at(1) });
        expect(await store.claimJob('w1', at(0), 60_000)).toBeNull(); // not due yet
        const claimed = await store.claimJob('w1', at(1), 60_000);
        expect(claimed).toMatchObject({ id: job!.id, state: 'running', attempts: 1, leaseOwner: 'w1' });
        expect(await store.claimJob('w2', at(1), 60_000)).toBeNull(); // leased
        const taken = await store.claimJob('w2', at(2), 60_000); // w1's lease ran out
        expect(taken).toMatchObject({ id: job!.id, attempts: 2, leaseOwner: 'w2' });
        expect(await store.renewJobLease(job!.id, 'w1', at(9))).toBe(false); // w1 lost the lease
        expect(await store.renewJobLease(job!.id, 'w2', at(9))).toBe(true);
        expect((await store.getJob(job!.id))?.leaseExpiresAt).toBe(at(9));
        await store.completeJob(job!.id, 'w1', at(2)); // w1 lost the lease: no effect
        expect((await store.getJob(job!.id))?.state).toBe('running');
        await store.completeJob(job!.id, 'w2', at(2));
        expect(await store.getJob(job!.id)).toMatchObject({ state: 'done', finishedAt: at(2), leaseOwner: null });
      });

      it('a failed job runs again at its retry time, or becomes dead', async () => {
        const job = await store.enqueueJob({ type: 'x', payload: {}, runAt: at(0), maxAttempts: 2 });
        await store.claimJob('w', at(0), 60_000);
        await store.failJob(job!.id, 'w', 'boom', at(0), at(5));
        expect(await store.getJob(job!.id)).toMatchObject({ state: 'pending', runAt: at(5), lastError: 'boom' });
        expect(await store.claimJob('w', at(4), 60_000)).toBeNull();
        await store.claimJob('w', at(5), 60_000);
        await store.failJob(job!.id, 'w', 'boom again', at(5), null);
        expect(await store.getJob(job!.id)).toMatchObject({ state: 'dead', attempts: 2, lastError: 'boom again', finishedAt: at(5) });
        expect((await store.listJobs({ state: 'dead' })).map((j) => j.id)).toEqual([job!.id]);
      });

      it('a job key makes enqueueing idempotent', async () => {
        expect(await store.enqueueJob({ type: 'x', key: 'reaction:a:event:1', payload: {}, runAt: at(0) })).not.toBeNull();
        expect(await store.enqueueJob({ type: 'x', key: 'reaction:a:event:1', payload: {}, runAt: at(0) })).toBeNull();
        expect(await store.listJobs()).toHaveLength(1);
      });

      it('jobStats: pending (due or not) and running jobs by type, the oldest due one; done and dead jobs left out', async () => {
        expect(await store.jobStats(at(10))).toEqual([]);
        await store.enqueueJob({ type: 'reaction', payload: {}, runAt: at(3) });
        await store.enqueueJob({ type: 'reaction', payload: {}, runAt: at(5) });
        await store.enqueueJob({ type: 'reaction', payload: {}, runAt: at(20) }); // not due at 10
        await store.enqueueJob({ type: 'github', payload: {}, runAt: at(30) }); // not due at 10
        const running = await store.enqueueJob({ type: 'tick', payload: {}, runAt: at(0) });
        const done = await store.enqueueJob({ type: 'done-type', payload: {}, runAt: at(0) });
        const dead = await store.enqueueJob({ type: 'dead-type', payload: {}, runAt: at(0), maxAttempts: 1 });
        // Claims go in run_at order: the three at at(0) first (ids in order).
        expect((await store.claimJob('w', at(1), 600_000))?.id).toBe(running!.id);
        expect((await store.claimJob('w', at(1), 600_000))?.id).toBe(done!.id);
        expect((await store.claimJob('w', at(1), 600_000))?.id).toBe(dead!.id);
        await store.completeJob(done!.id, 'w', at(1));
        await store.failJob(dead!.id, 'w', 'boom', at(1), null);
        expect(await store.jobStats(at(10))).toEqual([
          { type: 'github', pending: 1, running: 0, oldestDueAt: null },
          { type: 'reaction', pending: 3, running: 0, oldestDueAt: at(3) },
          { type: 'tick', pending: 0, running: 1, oldestDueAt: null },
        ]);
        // Earlier, nothing of reaction was due yet.
        expect((await store.jobStats(at(2))).find((s) => s.type === 'reaction')).toEqual({ type: 'reaction', pending: 3, running: 0, oldestDueAt: null });
      });
    });

    describe('api tokens', () => {
      const token = (hash: string, overrides: Partial<ApiToken> = {}): ApiToken => ({ hash, actor: 'reaction:x', scopes: ['release'], createdAt: at(0), expiresAt: at(30), run: null, ...overrides });
      /** A job claimed by `owner` at at(0) with a lease until at(leaseMinutes): attempt 1 is running. */
      async function runningJob(owner = 'w1', leaseMinutes = 10) {
        const job = await store.enqueueJob({ type: 'reaction', payload: {}, runAt: at(0) });
        const claimed = await store.claimJob(owner, at(0), leaseMinutes * 60_000);
        expect(claimed?.id).toBe(job!.id);
        return claimed!;
      }

      it('finds a live token by hash, not an expired or revoked one', async () => {
        const t = token('h1', { expiresAt: at(10) });
        await store.createApiToken(t);
        expect(await store.findApiToken('h1', at(5))).toEqual(t);
        expect(await store.findApiToken('h1', at(10))).toBeNull();
        expect(await store.findApiToken('nope', at(5))).toBeNull();
        await store.revokeApiToken('h1');
        expect(await store.findApiToken('h1', at(5))).toBeNull();
      });

      it("a run's token works only while its job runs that attempt under a live lease", async () => {
        const job = await runningJob('w1', 10);
        const t = token('run', { run: { jobId: job.id, attempt: job.attempts } });
        await store.createApiToken(t);
        expect(await store.findApiToken('run', at(5))).toEqual(t);
        // The process running it was killed: nobody renews the lease, which lapses at at(10).
        expect(await store.findApiToken('run', at(10))).toBeNull();
        // Another worker takes the job over: attempt 2; the first attempt's token stays dead.
        await store.claimJob('w2', at(11), 600_000);
        expect(await store.findApiToken('run', at(12))).toBeNull();
        await store.completeJob(job.id, 'w2', at(13));
        expect(await store.findApiToken('run', at(14))).toBeNull();
      });

      it("a run's token dies when its job finishes or is retried", async () => {
        const job = await runningJob('w1', 10);
        await store.createApiToken(token('done', { run: { jobId: job.id, attempt: 1 } }));
        await store.failJob(job.id, 'w1', 'boom', at(1), at(2));
        expect(await store.findApiToken('done', at(1))).toBeNull(); // pending again
        await store.claimJob('w1', at(2), 600_000); // attempt 2, same worker
        expect(await store.findApiToken('done', at(3))).toBeNull();
      });

      it('prune deletes expired tokens and those of runs that are over, and keeps the live ones', async () => {
        const live = await runningJob('alive', 10);
        await store.createApiToken(token('live-run', { run: { jobId: live.id, attempt: 1 } }));
        await store.createApiToken(token('no-run'));
        await store.createApiToken(token('expired', { expiresAt: at(2) }));
        await store.createApiToken(token('gone-job', { run: { jobId: 9999, attempt: 1 } }));
        const finished = await runningJob('w1', 10);
        await store.createApiToken(token('finished-run', { run: { jobId: finished.id, attempt: 1 } }));
        await store.completeJob(finished.id, 'w1', at(1));

        expect(await store.pruneApiTokens(at(3))).toBe(3);
        expect(await store.findApiToken('live-run', at(3))).not.toBeNull();
        expect(await store.findApiToken('no-run', at(3))).not.toBeNull();
        expect(await store.pruneApiTokens(at(3))).toBe(0);

        // The process running `live` is killed; at the next start (after its lease lapsed) its token goes.
        expect(await store.pruneApiTokens(at(10))).toBe(1);
        await store.revokeApiToken('live-run'); // already gone: harmless
        expect(await store.findApiToken('no-run', at(10))).not.toBeNull();
        expect(await store.pruneApiTokens(at(30))).toBe(1);
      });
    });

    describe('message references', () => {
      const ref = { kind: 'deployment', key: '7', adapter: 'slack', channel: 'C1', ts: '1.000100', updatedAt: at(0) };

      it('remembers, finds and moves a message', async () => {
        expect(await store.findMessage('deployment', '7', 'slack')).toBeNull();
        await store.rememberMessage(ref);
        expect(await store.findMessage('deployment', '7', 'slack')).toEqual(ref);
        await store.rememberMessage({ ...ref, channel: 'C2', ts: '2.000200', updatedAt: at(1) });
        expect(await store.findMessage('deployment', '7', 'slack')).toMatchObject({ channel: 'C2', ts: '2.000200' });
        expect(await store.findMessage('deployment', '7', 'shell')).toBeNull();
        expect(await store.findMessage('incident', '7', 'slack')).toBeNull();
      });
    });

    describe('chat conversation addresses', () => {
      const conversation = { adapter: 'teams', conversationId: '19:deploys@thread.tacv2;messageid=1', serviceUrl: 'https://smba.trafficmanager.net/emea/', tenantId: 'tenant-1', updatedAt: at(1) };

      it('remembers, finds and moves an address; an older write does not replace a newer one', async () => {
        expect(await store.findConversation('teams', conversation.conversationId)).toBeNull();
        await store.rememberConversation(conversation);
        expect(await store.findConversation('teams', conversation.conversationId)).toEqual(conversation);
        expect(await store.findConversation('slack', conversation.conversationId)).toBeNull();
        await store.rememberConversation({ ...conversation, serviceUrl: 'https://smba.trafficmanager.net/amer/', updatedAt: at(2) });
        expect(await store.findConversation('teams', conversation.conversationId)).toMatchObject({ serviceUrl: 'https://smba.trafficmanager.net/amer/', updatedAt: at(2) });
        await store.rememberConversation({ ...conversation, serviceUrl: 'https://stale.example/', updatedAt: at(0) });
        expect(await store.findConversation('teams', conversation.conversationId)).toMatchObject({ serviceUrl: 'https://smba.trafficmanager.net/amer/' });
        await store.rememberConversation({ ...conversation, conversationId: 'a:1personal', tenantId: null });
        expect(await store.findConversation('teams', 'a:1personal')).toMatchObject({ tenantId: null });
      });
    });

    describe('markSeen', () => {
      it('is true the first time only, per scope', async () => {
        expect(await store.markSeen('slack-event', 'Ev1', at(0))).toBe(true);
        expect(await store.markSeen('slack-event', 'Ev1', at(1))).toBe(false);
        expect(await store.markSeen('github-delivery', 'Ev1', at(1))).toBe(true);
        expect(await store.isSeen('slack-event', 'Ev1')).toBe(true);
        expect(await store.isSeen('slack-event', 'Ev9')).toBe(false);
        const results = await Promise.all(Array.from({ length: 10 }, () => store.markSeen('slack-event', 'Ev2', at(2))));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('reserveChatSlot', () => {
      const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

      it('gives now when the channel is free, then the slots after it; a later now starts afresh', async () => {
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 1000)).toBe(at(0));
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 1000)).toBe(plus(at(0), 1000));
        // A caller whose clock reads a little earlier still gets the slot after the last one.
        expect(await store.reserveChatSlot('slack', 'C1', plus(at(0), -500), 1000)).toBe(plus(at(0), 2000));
        // Once the channel's slots are past, the slot is now again.
        expect(await store.reserveChatSlot('slack', 'C1', at(1), 1000)).toBe(at(1));
        expect(await store.reserveChatSlot('slack', 'C1', plus(at(1), 250), 1000)).toBe(plus(at(1), 1000));
      });

      it('paces each (adapter, channel) on its own', async () => {
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 1000)).toBe(at(0));
        expect(await store.reserveChatSlot('slack', 'C2', at(0), 1000)).toBe(at(0));
        expect(await store.reserveChatSlot('teams', 'C1', at(0), 1000)).toBe(at(0));
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 1000)).toBe(plus(at(0), 1000));
      });

      it('never gives concurrent reservations the same slot: each gets the next', async () => {
        const slots = await Promise.all(Array.from({ length: 20 }, () => store.reserveChatSlot('slack', 'C1', at(0), 1000)));
        expect([...slots].sort()).toEqual(Array.from({ length: 20 }, (_, k) => plus(at(0), k * 1000)));
        const mixed = await Promise.all(Array.from({ length: 20 }, (_, i) => store.reserveChatSlot('slack', `C${i % 2}`, at(5), 1000)));
        for (const channel of [0, 1]) {
          expect(mixed.filter((_, i) => i % 2 === channel).sort()).toEqual(Array.from({ length: 10 }, (_, k) => plus(at(5), k * 1000)));
        }
      });

      it('burst 1 is the default, and strict: one slot per interval', async () => {
        for (let k = 0; k < 3; k++) expect(await store.reserveChatSlot('slack', 'C1', at(0), 1000, 1)).toBe(plus(at(0), k * 1000));
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 1000)).toBe(plus(at(0), 3000));
      });

      it('with a burst of 3: three slots at once, then one per interval; a quiet channel earns its burst back', async () => {
        const reserve = (now: string) => store.reserveChatSlot('slack', 'C1', now, 1000, 3);
        expect([await reserve(at(0)), await reserve(at(0)), await reserve(at(0))]).toEqual([at(0), at(0), at(0)]);
        expect(await reserve(at(0))).toBe(plus(at(0), 1000));
        expect(await reserve(at(0))).toBe(plus(at(0), 2000));
        // Sustained: a caller always asking for the next slot as soon as it is due gets one per interval.
        let now = plus(at(0), 2000);
        for (let k = 3; k < 10; k++) {
          const slot = await reserve(now);
          expect(slot).toBe(plus(at(0), k * 1000));
          now = slot;
        }
        // Half an interval quiet after its last slot (TAT = slot + 3 s here): still no burst.
        expect(await reserve(plus(at(0), 9500))).toBe(plus(at(0), 10_000));
        // Quiet for two intervals more than the backlog: the full burst again, then the pace.
        const later = plus(at(1), 30_000);
        expect([await reserve(later), await reserve(later), await reserve(later), await reserve(later)]).toEqual([later, later, later, plus(later, 1000)]);
        // Quiet for part of it: three intervals after the burst began, two of its three slots are back.
        const after = plus(later, 1000 + 2000);
        expect([await reserve(after), await reserve(after), await reserve(after)]).toEqual([after, after, plus(after, 1000)]);
        // Other channels and burst 1 in the same store are unaffected.
        expect(await store.reserveChatSlot('slack', 'C2', at(0), 1000, 1)).toBe(at(0));
        expect(await store.reserveChatSlot('slack', 'C2', at(0), 1000, 1)).toBe(plus(at(0), 1000));
      });

      it('concurrent reservations with a burst: the burst at now, then one slot per interval', async () => {
        const slots = await Promise.all(Array.from({ length: 20 }, () => store.reserveChatSlot('slack', 'C1', at(0), 1000, 3)));
        expect([...slots].sort()).toEqual([at(0), at(0), ...Array.from({ length: 18 }, (_, k) => plus(at(0), k * 1000))]);
      });

      it('refuses a burst below 1 or a non-whole one, and a non-positive interval', async () => {
        await expect(store.reserveChatSlot('slack', 'C1', at(0), 1000, 0)).rejects.toThrow(RangeError);
        await expect(store.reserveChatSlot('slack', 'C1', at(0), 1000, 1.5)).rejects.toThrow(/burst/);
        await expect(store.reserveChatSlot('slack', 'C1', at(0), 0, 3)).rejects.toThrow(/interval/);
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 1000, 3)).toBe(at(0));
      });

      it('forgets a channel a day after its last slot', async () => {
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 60_000)).toBe(at(0));
        // Still remembered within the day: an earlier clock waits for the reserved slot.
        await store.reserveChatSlot('slack', 'C2', plus(at(0), 3_600_000), 1000);
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 60_000)).toBe(at(1));
        // A reservation anywhere more than a day later deletes C1's row: C1 is free again even for an old clock.
        await store.reserveChatSlot('slack', 'C2', plus(at(0), 2 * 86_400_000), 1000);
        expect(await store.reserveChatSlot('slack', 'C1', at(0), 60_000)).toBe(at(0));
      });
    });

    describe('confirmations', () => {
      const question = (overrides: Partial<PendingConfirmation> = {}): PendingConfirmation => ({
        key: '["slack","U1","C1"]',
        command: 'deploy',
        text: 'deploy web to prod',
        createdAt: at(0),
        expiresAt: at(2),
        ...overrides,
      });

      it('takes a question once, before it expires', async () => {
        await store.putConfirmation(question());
        expect(await store.takeConfirmation('["slack","U2","C1"]', at(1))).toBeNull();
        expect(await store.takeConfirmation(question().key, at(1))).toEqual(question());
        expect(await store.takeConfirmation(question().key, at(1))).toBeNull();
      });

      it('round-trips any text, quotes and unicode included', async () => {
        const odd = question({ key: '["slack","U\'1","#ops; DROP"]', text: 'lock! prod because "db" migration — ünïcode ✓' });
        await store.putConfirmation(odd);
        expect(await store.takeConfirmation(odd.key, at(1))).toEqual(odd);
      });

      it('answers null at or after expiresAt, and removes the expired question', async () => {
        await store.putConfirmation(question());
        expect(await store.takeConfirmation(question().key, at(2))).toBeNull();
        expect(await store.takeConfirmation(question().key, at(1))).toBeNull(); // gone, not only hidden
        await store.putConfirmation(question());
        expect(await store.takeConfirmation(question().key, new Date(Date.parse(at(2)) - 1).toISOString())).toEqual(question());
      });

      it('a new question replaces the open one with the same key', async () => {
        await store.putConfirmation(question());
        const second = question({ command: 'lock', text: 'lock! prod', createdAt: at(1), expiresAt: at(3) });
        await store.putConfirmation(second);
        expect(await store.takeConfirmation(question().key, at(2))).toEqual(second);
        expect(await store.takeConfirmation(question().key, at(2))).toBeNull();
      });

      it('a put drops questions that expired by its time, and keeps the others', async () => {
        await store.putConfirmation(question({ key: 'a', expiresAt: at(1) }));
        await store.putConfirmation(question({ key: 'b', expiresAt: at(5) }));
        await store.putConfirmation(question({ key: 'c', createdAt: at(3), expiresAt: at(6) }));
        // Looking "from the past" would still see 'a' had it been kept.
        expect(await store.takeConfirmation('a', at(0))).toBeNull();
        expect(await store.takeConfirmation('b', at(0))).toMatchObject({ key: 'b' });
        expect(await store.takeConfirmation('c', at(4))).toMatchObject({ key: 'c' });
      });

      it('of concurrent takes of one question exactly one gets it (20 rounds)', async () => {
        for (let round = 0; round < 20; round++) {
          const key = `race${round}`;
          await store.putConfirmation(question({ key }));
          const taken = await Promise.all(Array.from({ length: round % 2 === 0 ? 2 : 5 }, () => store.takeConfirmation(key, at(1))));
          expect(taken.filter((t) => t !== null)).toEqual([question({ key })]);
        }
      });
    });

    describe('retention (prune)', () => {
      const cutoff = at(30);
      const delivery = (deliveryId: string, receivedAt: string) => ({
        source: 'github',
        deliveryId,
        receivedAt,
        contentType: 'application/json',
        headers: {},
        query: {},
        body: { n: deliveryId },
      });

      it('deletes old deliveries whose job is over, never one a pending or running job reads', async () => {
        const old = await store.acceptDelivery(delivery('old-done', at(0)), { type: 'delivery', runAt: at(0) });
        const doneJob = await store.claimJob('w', at(0), 60_000);
        await store.completeJob(doneJob!.id, 'w', at(1));
        const pending = await store.acceptDelivery(delivery('old-pending', at(0)), { type: 'delivery', runAt: at(50) });
        const running = await store.acceptDelivery(delivery('old-running', at(0)), { type: 'delivery', runAt: at(20) });
        expect((await store.claimJob('w', at(20), 60 * 60_000))?.payload).toEqual({ deliveryId: running.delivery.id });
        const recent = await store.acceptDelivery(delivery('recent', at(40)), { type: 'delivery', runAt: at(40) });
        const recentJob = await store.claimJob('w', at(40), 60_000);
        await store.completeJob(recentJob!.id, 'w', at(41));

        expect(await store.prune('deliveries', cutoff, 100)).toBe(1);
        expect(await store.getDelivery(old.delivery.id)).toBeNull();
        expect(await store.getDelivery(pending.delivery.id)).not.toBeNull();
        expect(await store.getDelivery(running.delivery.id)).not.toBeNull();
        expect(await store.getDelivery(recent.delivery.id)).not.toBeNull();
        // However old: a pending job's delivery stays.
        expect(await store.prune('deliveries', at(59), 100)).toBe(1); // only "recent" (its job is done)
        expect(await store.getDelivery(pending.delivery.id)).not.toBeNull();
        expect(await store.getDelivery(running.delivery.id)).not.toBeNull();
        expect(await store.prune('deliveries', at(59), 100)).toBe(0);
      });

      it('deletes done and dead jobs finished before the cutoff, never pending or running ones', async () => {
        const done = await store.enqueueJob({ type: 'x', payload: {}, runAt: at(0) });
        await store.claimJob('w', at(0), 60_000);
        await store.completeJob(done!.id, 'w', at(1));
        const dead = await store.enqueueJob({ type: 'x', payload: {}, runAt: at(0) });
        await store.claimJob('w', at(0), 60_000);
        await store.failJob(dead!.id, 'w', 'boom', at(2), null);
        const recent = await store.enqueueJob({ type: 'x', payload: {}, runAt: at(0) });
        await store.claimJob('w', at(0), 60_000);
        await store.completeJob(recent!.id, 'w', at(40));
        const pending = await store.enqueueJob({ type: 'x', payload: {}, runAt: at(60) });
        const running = await store.enqueueJob({ type: 'x', payload: {}, runAt: at(0) });
        expect((await store.claimJob('w', at(5), 60_000))?.id).toBe(running!.id);

        expect(await store.prune('jobs', cutoff, 100)).toBe(2);
        expect((await store.listJobs()).map((j) => j.id).sort((a, b) => a - b)).toEqual([recent!.id, pending!.id, running!.id]);
        expect(await store.prune('jobs', at(59), 100)).toBe(1); // "recent"; pending and running stay however old
        expect((await store.listJobs()).map((j) => j.id).sort((a, b) => a - b)).toEqual([pending!.id, running!.id]);
      });

      it('keeps the jobs that hold a reaction\'s once_per key, however old: the value must not run again', async () => {
        const once = await store.enqueueJob({ type: 'reaction', key: 'reaction:announce:once:1.4.0', payload: {}, runAt: at(0) });
        await store.claimJob('w', at(0), 60_000);
        await store.completeJob(once!.id, 'w', at(1));
        const plain = await store.enqueueJob({ type: 'reaction', key: 'reaction:announce:event:7', payload: {}, runAt: at(0) });
        await store.claimJob('w', at(0), 60_000);
        await store.completeJob(plain!.id, 'w', at(1));
        expect(await store.prune('jobs', at(59), 100)).toBe(1);
        expect((await store.listJobs()).map((j) => j.id)).toEqual([once!.id]);
        expect(await store.enqueueJob({ type: 'reaction', key: 'reaction:announce:once:1.4.0', payload: {}, runAt: at(60) })).toBeNull();
      });

      it('deletes at most `limit` rows per call, oldest first', async () => {
        for (const minute of [4, 0, 3, 1, 2]) await store.appendEvent({ type: 'tick', at: at(minute), data: { minute } });
        const kept = await store.appendEvent({ type: 'tick', at: at(40), data: { minute: 40 } });
        expect(await store.prune('events', cutoff, 2)).toBe(2);
        expect((await store.listEvents()).map((e) => (e.data as { minute: number }).minute)).toEqual([4, 3, 2, 40]);
        expect(await store.prune('events', cutoff, 2)).toBe(2);
        expect(await store.prune('events', cutoff, 2)).toBe(1);
        expect(await store.prune('events', cutoff, 2)).toBe(0);
        expect(await store.listEvents()).toEqual([kept]);
      });

      it('deletes old seen keys and audit records, keeping recent ones', async () => {
        await store.markSeen('slack', 'old', at(0));
        await store.markSeen('slack', 'recent', at(40));
        const audit = { actor: 'alice', action: 'deploy', target: 'web/prod', outcome: 'ok' as const, details: {} };
        await store.appendAudit({ ...audit, at: at(0) });
        const recentAudit = await store.appendAudit({ ...audit, at: at(40) });

        expect(await store.prune('seen', cutoff, 100)).toBe(1);
        expect(await store.isSeen('slack', 'old')).toBe(false);
        expect(await store.isSeen('slack', 'recent')).toBe(true);
        expect(await store.prune('audit', cutoff, 100)).toBe(1);
        expect(await store.listAudit()).toEqual([recentAudit]);
      });

      it('deletes the output of deployments finished before the cutoff and keeps the deployments', async () => {
        const line = (seq: number) => ({ seq, stream: 'stdout' as const, line: `line ${seq}`, at: at(seq) });
        const old = await store.createDeployment(deployment());
        await store.appendLog(old.id, [line(1), line(2), line(3)]);
        await store.finishDeployment(old.id, { state: 'succeeded', finishedAt: at(5) });
        const recent = await store.createDeployment(deployment({ environment: 'staging' }));
        await store.appendLog(recent.id, [line(1)]);
        await store.finishDeployment(recent.id, { state: 'failed', finishedAt: at(40) });
        const running = await store.createDeployment(deployment({ environment: 'dev' }));
        expect((await store.claimNextDeployment('web', 'dev', at(1)))?.id).toBe(running.id);
        await store.appendLog(running.id, [line(1)]);

        expect(await store.prune('logs', cutoff, 2)).toBe(2);
        expect(await store.prune('logs', cutoff, 2)).toBe(1);
        expect(await store.prune('logs', cutoff, 2)).toBe(0);
        expect(await store.readLog(old.id)).toEqual([]);
        expect(await store.getDeployment(old.id)).toMatchObject({ id: old.id, state: 'succeeded' });
        expect(await store.readLog(recent.id)).toHaveLength(1);
        expect(await store.readLog(running.id)).toHaveLength(1);
      });

      it('deletes old records of reaction chat steps (posts) and no other message references', async () => {
        const ref = (kind: string, key: string, updatedAt: string) => ({ kind, key, adapter: 'slack', channel: 'C1', ts: '1.000100', updatedAt });
        await store.rememberMessage(ref('reaction-step', 'run-old-1', at(0)));
        await store.rememberMessage(ref('reaction-step', 'run-old-2', at(1)));
        await store.rememberMessage(ref('reaction-step', 'run-recent', at(40)));
        await store.rememberMessage(ref('deployment', '7', at(0))); // a notice edited in place: not a post record

        expect(await store.prune('posts', cutoff, 1)).toBe(1);
        expect(await store.prune('posts', cutoff, 100)).toBe(1);
        expect(await store.prune('posts', cutoff, 100)).toBe(0);
        expect(await store.findMessage('reaction-step', 'run-old-1', 'slack')).toBeNull();
        expect(await store.findMessage('reaction-step', 'run-old-2', 'slack')).toBeNull();
        expect(await store.findMessage('reaction-step', 'run-recent', 'slack')).not.toBeNull();
        expect(await store.findMessage('deployment', '7', 'slack')).not.toBeNull();
      });
    });

    describe('audit', () => {
      const record = {
        at: at(0),
        actor: 'alice',
        action: 'deploy',
        target: 'web/prod',
        outcome: 'ok' as const,
        details: { ref: 'main', flags: ['--force'] },
      };

      it('appends a record and round-trips its details', async () => {
        const stored = await store.appendAudit(record);
        expect(stored).toEqual({ id: expect.any(Number), ...record, app: null, environment: null });
        expect(await store.listAudit()).toEqual([stored]);
      });

      it('lists newest first with action, actor and limit filters', async () => {
        const a = await store.appendAudit(record);
        const b = await store.appendAudit({ ...record, actor: 'bob', outcome: 'denied', details: {} });
        const c = await store.appendAudit({ ...record, action: 'lock', outcome: 'failed' });

        expect(await store.listAudit()).toEqual([c, b, a]);
        expect(await store.listAudit({ action: 'deploy' })).toEqual([b, a]);
        expect(await store.listAudit({ actor: 'alice' })).toEqual([c, a]);
        expect(await store.listAudit({ action: 'deploy', actor: 'alice' })).toEqual([a]);
        expect(await store.listAudit({ limit: 1 })).toEqual([c]);
      });
    });
  });
}

/** Awaits a promise that must reject with a DeckhandError, and returns that error. */
export async function rejection(promise: Promise<unknown>, code?: ErrorCode): Promise<DeckhandError> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof DeckhandError)) throw err;
    if (code !== undefined) expect(err.code).toBe(code);
    return err;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
