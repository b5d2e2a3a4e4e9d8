import { ErrorCode } from '../../../src/core/errors.js';
import type { NewDelivery, NewOperatorToken } from '../../../src/core/model.js';
import type { Store } from '../../../src/store/types.js';
import { rejection } from './store-contract.js';

/**
 * What every Store backend must do for operators (src/operators/): operator tokens, deliveries
 * listed with the outcome of their newest job, dead jobs retried, the audit log searched by app,
 * environment and time. A backend's test file calls this with a factory that returns a fresh,
 * migrated, empty store; each store is closed after its test.
 */
export function describeOperatorContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store operator contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const at = (minutes: number): string => new Date(Date.UTC(2025, 0, 1, 12, minutes)).toISOString();
    const token = (overrides: Partial<NewOperatorToken> = {}): NewOperatorToken => ({ name: 'ci', hash: 'h1', role: 'deployers', createdBy: 'cli', createdAt: at(0), expiresAt: null, ...overrides });

    describe('operator tokens', () => {
      it('stores a token, finds it by hash while it is live, lists it and revokes it by name', async () => {
        const created = await store.createOperatorToken(token({ expiresAt: at(60) }), at(0));
        expect(created).toEqual({ id: expect.any(Number), ...token({ expiresAt: at(60) }), revokedAt: null });
        expect(await store.findOperatorToken('h1', at(59))).toEqual(created);
        expect(await store.findOperatorToken('h1', at(60))).toBeNull();
        expect(await store.findOperatorToken('other', at(1))).toBeNull();
        expect(await store.listOperatorTokens()).toEqual([created]);

        const revoked = await store.revokeOperatorToken('ci', at(2));
        expect(revoked).toEqual({ ...created, revokedAt: at(2) });
        expect(await store.findOperatorToken('h1', at(3))).toBeNull();
        expect(await store.listOperatorTokens()).toEqual([]);
        expect(await store.revokeOperatorToken('ci', at(4))).toBeNull();
      });

      it('keeps names unique among live tokens: a live name conflicts, a revoked or expired one is free again', async () => {
        await store.createOperatorToken(token({ expiresAt: at(10) }), at(0));
        await rejection(store.createOperatorToken(token({ hash: 'h2' }), at(5)), ErrorCode.Conflict);
        // Expired at 10: the next token of that name revokes it and takes the name.
        const second = await store.createOperatorToken(token({ hash: 'h2', createdAt: at(10) }), at(10));
        expect(await store.listOperatorTokens()).toEqual([second]);
        expect(await store.findOperatorToken('h1', at(5))).toBeNull();
        await store.revokeOperatorToken('ci', at(11));
        const third = await store.createOperatorToken(token({ hash: 'h3', role: 'admins' }), at(12));
        expect(await store.findOperatorToken('h3', at(13))).toEqual(third);
      });

      it('lists tokens by name, expired ones too, never revoked ones', async () => {
        const b = await store.createOperatorToken(token({ name: 'b-bot', hash: 'hb', expiresAt: at(1) }), at(0));
        const a = await store.createOperatorToken(token({ name: 'A-bot', hash: 'ha' }), at(0));
        const c = await store.createOperatorToken(token({ name: 'c', hash: 'hc' }), at(0));
        await store.revokeOperatorToken('c', at(0));
        expect(await store.listOperatorTokens()).toEqual([a, b]);
        expect(c.revokedAt).toBeNull();
      });
    });

    const delivery = (deliveryId: string, overrides: Partial<NewDelivery> = {}): NewDelivery => ({
      source: 'github',
      deliveryId,
      receivedAt: at(0),
      contentType: 'application/json',
      headers: {},
      query: {},
      body: { n: deliveryId },
      ...overrides,
    });

    /** Claims the next due job and fails it for good (dead). */
    async function killNext(now: string): Promise<number> {
      const job = await store.claimJob('w', now, 60_000);
      if (!job) throw new Error('expected a due job');
      await store.failJob(job.id, 'w', 'HTTP 500 from the receiver', now, null);
      return job.id;
    }

    async function finishNext(now: string): Promise<number> {
      const job = await store.claimJob('w', now, 60_000);
      if (!job) throw new Error('expected a due job');
      await store.completeJob(job.id, 'w', now);
      return job.id;
    }

    describe('listDeliveries', () => {
      it('lists newest first without bodies, each with the state of its newest job, in pages', async () => {
        const one = await store.acceptDelivery(delivery('d-1', { receivedAt: at(1) }), { type: 'github', runAt: at(1) });
        const two = await store.acceptDelivery(delivery('d-2', { receivedAt: at(2), source: 'trigger:myget' }), { type: 'delivery', runAt: at(2) });
        const three = await store.acceptDelivery(delivery('d-3', { receivedAt: at(3) }), { type: 'github', runAt: at(3), maxAttempts: 1 });
        const doneJob = await finishNext(at(4)); // d-1's job
        const deadJob = await killNext(at(4)); // d-2's job

        const page = await store.listDeliveries();
        expect(page.next).toBeNull();
        expect(page.deliveries.map((d) => [d.deliveryId, d.outcome, d.jobs])).toEqual([
          ['d-3', 'pending', 1],
          ['d-2', 'dead', 1],
          ['d-1', 'done', 1],
        ]);
        expect(page.deliveries[1]).toEqual({
          id: two.delivery.id,
          source: 'trigger:myget',
          deliveryId: 'd-2',
          receivedAt: at(2),
          contentType: 'application/json',
          outcome: 'dead',
          job: { id: deadJob, type: 'delivery', state: 'dead', attempts: 1, lastError: 'HTTP 500 from the receiver', finishedAt: at(4) },
          jobs: 1,
        });
        expect(page.deliveries[2]?.job?.id).toBe(doneJob);
        expect(page.deliveries[2]).not.toHaveProperty('body');

        const first = await store.listDeliveries({ limit: 2 });
        expect(first.deliveries.map((d) => d.id)).toEqual([three.delivery.id, two.delivery.id]);
        expect(first.next).not.toBeNull();
        const second = await store.listDeliveries({ limit: 2, cursor: first.next ?? 0 });
        expect(second).toMatchObject({ deliveries: [{ id: one.delivery.id }], next: null });

        expect((await store.listDeliveries({ source: 'github' })).deliveries.map((d) => d.deliveryId)).toEqual(['d-3', 'd-1']);
        expect((await store.listDeliveries({ since: at(2) })).deliveries.map((d) => d.deliveryId)).toEqual(['d-3', 'd-2']);
        expect((await store.listDeliveries({ since: at(9) })).deliveries).toEqual([]);
        expect((await store.listDeliveries({ id: one.delivery.id })).deliveries.map((d) => d.deliveryId)).toEqual(['d-1']);
        expect((await store.listDeliveries({ id: 999_999 })).deliveries).toEqual([]);
      });

      it('filters by outcome through the newest job: a replayed dead delivery that then succeeded is not failed any more', async () => {
        const a = await store.acceptDelivery(delivery('a', { receivedAt: at(1) }), { type: 'github', runAt: at(1) });
        const b = await store.acceptDelivery(delivery('b', { receivedAt: at(2), source: 'octopus' }), { type: 'octopus', runAt: at(2) });
        await killNext(at(3)); // a
        await killNext(at(3)); // b
        const dead = await store.listDeliveries({ outcome: 'dead' });
        expect(dead.deliveries.map((d) => d.deliveryId)).toEqual(['b', 'a']);
        expect((await store.listDeliveries({ outcome: 'dead', source: 'github' })).deliveries.map((d) => d.deliveryId)).toEqual(['a']);
        expect((await store.listDeliveries({ outcome: 'dead', since: at(2) })).deliveries.map((d) => d.deliveryId)).toEqual(['b']);

        // A replay of a: a new job for the same delivery, which succeeds.
        await store.enqueueJob({ type: 'github', payload: { deliveryId: a.delivery.id, replay: true }, runAt: at(4) });
        await finishNext(at(5));
        expect((await store.listDeliveries({ outcome: 'dead' })).deliveries.map((d) => d.id)).toEqual([b.delivery.id]);
        const done = await store.listDeliveries({ outcome: 'done' });
        expect(done.deliveries).toMatchObject([{ id: a.delivery.id, outcome: 'done', jobs: 2 }]);

        const paged = await store.listDeliveries({ outcome: 'dead', limit: 1 });
        expect(paged.next).toBeNull();
        await killNextAfterEnqueue(a.delivery.id);
        const two = await store.listDeliveries({ outcome: 'dead', limit: 1 });
        expect(two.deliveries.map((d) => d.id)).toEqual([a.delivery.id]);
        expect((await store.listDeliveries({ outcome: 'dead', limit: 1, cursor: two.next ?? 0 })).deliveries.map((d) => d.id)).toEqual([b.delivery.id]);
      });

      async function killNextAfterEnqueue(deliveryId: number): Promise<void> {
        await store.enqueueJob({ type: 'github', payload: { deliveryId, replay: true }, runAt: at(6), maxAttempts: 1 });
        await killNext(at(6));
      }
    });

    describe('retryJob', () => {
      it('makes a dead job pending now with one more attempt; anything else is left alone', async () => {
        await store.acceptDelivery(delivery('d-1'), { type: 'github', runAt: at(0), maxAttempts: 2 });
        const first = await store.claimJob('w', at(1), 60_000);
        expect(await store.retryJob(first!.id, at(1))).toBeNull(); // running
        await store.failJob(first!.id, 'w', 'boom', at(1), null);

        const retried = await store.retryJob(first!.id, at(5));
        expect(retried).toMatchObject({ id: first!.id, state: 'pending', runAt: at(5), attempts: 1, maxAttempts: 2, finishedAt: null, lastError: 'boom' });
        expect(await store.retryJob(first!.id, at(5))).toBeNull(); // pending now
        expect(await store.claimJob('w', at(4), 60_000)).toBeNull(); // not due before 5
        const again = await store.claimJob('w', at(5), 60_000);
        expect(again).toMatchObject({ id: first!.id, attempts: 2 });
        expect(await store.retryJob(12345, at(5))).toBeNull();
      });
    });

    describe('audit search', () => {
      const record = { at: at(0), actor: 'alice', action: 'deploy', target: 'web/main to prod', outcome: 'ok' as const, details: {} };

      it('derives app and environment from the target the actions write, or takes them as given', async () => {
        expect(await store.appendAudit(record)).toMatchObject({ app: 'web', environment: 'prod' });
        expect(await store.appendAudit({ ...record, action: 'approval.grant', target: '#7 web/feature/x to prod' })).toMatchObject({ app: 'web', environment: 'prod' });
        expect(await store.appendAudit({ ...record, action: 'lock', target: 'api in staging' })).toMatchObject({ app: 'api', environment: 'staging' });
        expect(await store.appendAudit({ ...record, action: 'unlock', target: 'staging' })).toMatchObject({ app: null, environment: 'staging' });
        expect(await store.appendAudit({ ...record, action: 'release.create', target: 'api 1.4.0' })).toMatchObject({ app: 'api', environment: null });
        expect(await store.appendAudit({ ...record, action: 'delivery.replay', target: 'delivery 4', app: null, environment: null })).toMatchObject({ app: null, environment: null });
        expect(await store.appendAudit({ ...record, action: 'x', target: 'y', app: 'api' })).toMatchObject({ app: 'api', environment: null });
      });

      it('filters by app, environment, time and id, newest first', async () => {
        const a = await store.appendAudit(record);
        const b = await store.appendAudit({ ...record, at: at(5), target: 'api/main to prod' });
        const c = await store.appendAudit({ ...record, at: at(10), actor: 'bob', action: 'lock', target: 'api in staging' });
        expect(await store.listAudit({ app: 'api' })).toEqual([c, b]);
        expect(await store.listAudit({ environment: 'prod' })).toEqual([b, a]);
        expect(await store.listAudit({ app: 'api', environment: 'prod' })).toEqual([b]);
        expect(await store.listAudit({ since: at(5) })).toEqual([c, b]);
        expect(await store.listAudit({ until: at(5) })).toEqual([a]);
        expect(await store.listAudit({ since: at(1), until: at(10) })).toEqual([b]);
        expect(await store.listAudit({ since: at(11) })).toEqual([]);
        expect(await store.listAudit({ beforeId: c.id })).toEqual([b, a]);
        expect(await store.listAudit({ actor: 'bob', app: 'api', action: 'lock', environment: 'staging', since: at(0), until: at(11) })).toEqual([c]);
      });
    });
  });
}
