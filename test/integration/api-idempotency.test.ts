import { mintApiToken } from '../../src/http/api-tokens.js';
import { testConfig } from '../fixtures/config.js';
import { ManualClock } from '../fixtures/harness.js';
import { startInProcess, type InProcess } from '../fixtures/in-process.js';

/**
 * POST /api/v1/deployments and /api/v1/releases with Idempotency-Key: a repeat of the same request
 * (a client retrying after a lost answer, a reaction script re-run after a kill -9 sending its
 * $DECKHAND_RUN_ID) gets what the first one made, and nothing new is made; the same key with
 * another body is refused with 409.
 */
const roles = `  scripts: { members: ["reaction:test", "reaction:other"], may: [deploy:staging, release:hello] }
`;

describe('Idempotency-Key on the REST API', () => {
  let h: InProcess;
  let token: string;
  let otherToken: string;

  beforeAll(async () => {
    h = await startInProcess({ config: testConfig(roles) });
    const clock = new ManualClock(new Date());
    token = (await mintApiToken(h.store, clock, { actor: 'reaction:test', scopes: ['deploy', 'release'], ttlMs: 600_000 })).token;
    otherToken = (await mintApiToken(h.store, clock, { actor: 'reaction:other', scopes: ['deploy', 'release'], ttlMs: 600_000 })).token;
  });
  afterAll(async () => h?.close());

  const post = (path: string, body: unknown, key?: string | string[], bearer = token) => {
    const headers = new Headers({ authorization: `Bearer ${bearer}`, 'content-type': 'application/json' });
    for (const k of [key ?? []].flat()) headers.append('idempotency-key', k);
    return fetch(`${h.base}/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  };
  const queuedEvents = async (id: number) => (await h.store.listEvents({ type: 'deployment.queued', limit: 1000 })).filter((e) => (e.data as { deployment: { id: number } }).deployment.id === id).length;

  test('deployments: the same key and body answer the first deployment, replayed; nothing else is queued', async () => {
    const body = { app: 'hello', ref: 'v1', environment: 'staging' };
    const first = await post('/deployments', body, 'deploy-v1-7f3a');
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const made = ((await first.json()) as { deployment: { id: number } }).deployment;
    const count = (await h.store.listDeployments({ limit: 100 })).length;

    const again = await post('/deployments', body, 'deploy-v1-7f3a');
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { deployment: { id: number; ref: string } }).deployment).toMatchObject({ id: made.id, ref: 'v1' });
    expect((await h.store.listDeployments({ limit: 100 })).length).toBe(count);
    expect(await queuedEvents(made.id)).toBe(1);
    expect((await h.store.listAudit({ action: 'deploy', limit: 500 })).filter((a) => a.details.deploymentId === made.id)).toHaveLength(1);
  });

  test('deployments: the same key with another body is 409 and names what the key made; nothing is queued', async () => {
    const first = await post('/deployments', { app: 'hello', ref: 'v2', environment: 'staging' }, 'deploy-v2');
    const made = ((await first.json()) as { deployment: { id: number } }).deployment;
    const count = (await h.store.listDeployments({ limit: 100 })).length;
    const other = await post('/deployments', { app: 'hello', ref: 'v3', environment: 'staging' }, 'deploy-v2');
    expect(other.status).toBe(409);
    expect(await other.json()).toEqual({
      code: 'E_CONFLICT',
      error: `This idempotency key was first used for a different request, which made deployment #${made.id} (hello/v2 to staging); send a new key with a new request.`,
    });
    expect((await h.store.listDeployments({ limit: 100 })).length).toBe(count);
  });

  test('deployments: concurrent requests with one key make one deployment and all answer it', async () => {
    const body = { app: 'hello', ref: 'v4', environment: 'staging' };
    const answers = await Promise.all(Array.from({ length: 5 }, () => post('/deployments', body, 'deploy-v4')));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    const ids = await Promise.all(answers.map(async (a) => ((await a.json()) as { deployment: { id: number } }).deployment.id));
    expect(new Set(ids).size).toBe(1);
    expect((await h.store.listDeployments({ limit: 100 })).filter((d) => d.ref === 'v4')).toHaveLength(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(4);
  });

  test("a key is the caller's own: another caller's request with the same key is a new request", async () => {
    const body = { app: 'hello', ref: 'v5', environment: 'staging' };
    const mine = ((await (await post('/deployments', body, 'shared-key')).json()) as { deployment: { id: number } }).deployment;
    const theirs = await post('/deployments', body, 'shared-key', otherToken);
    expect(theirs.status).toBe(202);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    const made = ((await theirs.json()) as { deployment: { id: number; requestedBy: string } }).deployment;
    expect(made.id).not.toBe(mine.id);
    expect(made.requestedBy).toBe('reaction:other');
    expect((await h.store.listDeployments({ limit: 100 })).filter((d) => d.ref === 'v5')).toHaveLength(2);
  });

  test('a malformed or repeated Idempotency-Key is 400; without one, each request is new', async () => {
    const body = { app: 'hello', ref: 'v6', environment: 'staging' };
    for (const bad of ['has space', 'x'.repeat(256), 'naïve']) {
      const answer = await post('/deployments', body, bad);
      expect(answer.status).toBe(400);
      expect(((await answer.json()) as { error: string }).error).toBe('Idempotency-Key must be one header of 1 to 255 visible ASCII characters (a UUID, or $DECKHAND_RUN_ID in a reaction script).');
    }
    // Two headers arrive joined with ", ", which has a space: refused as well.
    expect((await post('/deployments', body, ['a', 'b'])).status).toBe(400);
    expect((await h.store.listDeployments({ limit: 100 })).filter((d) => d.ref === 'v6')).toHaveLength(0);
    await post('/deployments', body);
    await post('/deployments', body);
    expect((await h.store.listDeployments({ limit: 100 })).filter((d) => d.ref === 'v6')).toHaveLength(2);
  });

  test('releases: a repeat with the key answers the first release (not E_RELEASE_EXISTS); another version with it is 409', async () => {
    const first = await post('/releases', { app: 'hello', version: '3.1.0', notes: 'first' }, 'release-3.1.0');
    expect(first.status).toBe(201);
    const made = ((await first.json()) as { release: { id: number } }).release;
    const again = await post('/releases', { app: 'hello', version: '3.1.0', notes: 'first' }, 'release-3.1.0');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual({ release: expect.objectContaining({ id: made.id, version: '3.1.0', notes: 'first' }), url: null, packages: {} });
    expect((await h.store.listEvents({ type: 'release.created', limit: 100 })).length).toBe(1);

    // Without the key it is a new request for a release that exists.
    const unkeyed = await post('/releases', { app: 'hello', version: '3.1.0', notes: 'first' });
    expect(unkeyed.status).toBe(409);
    expect(((await unkeyed.json()) as { code: string }).code).toBe('E_RELEASE_EXISTS');
    const other = await post('/releases', { app: 'hello', version: '3.2.0' }, 'release-3.1.0');
    expect(other.status).toBe(409);
    expect(((await other.json()) as { error: string }).error).toBe('This idempotency key was first used for a different request, which made release 3.1.0 of hello; send a new key with a new request.');
    expect(await h.store.getRelease('hello', '3.2.0')).toBeNull();
  });
});
