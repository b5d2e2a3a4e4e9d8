import { ErrorCode } from '../../../src/core/errors.js';
import { can, rolesOf } from '../../../src/core/permissions.js';
import { maskPayload } from '../../../src/operators/operator-actions.js';
import { requirePermission } from '../../../src/operators/operator-permissions.js';
import { authenticateOperatorToken, createOperatorToken, listOperatorTokens, parseTokenLifetime, revokeOperatorToken } from '../../../src/operators/operator-tokens.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { testConfig } from '../../fixtures/config.js';
import { ManualClock } from '../../fixtures/harness.js';
import { rejection } from '../store/store-contract.js';

// "everyone" matches every id by membership: a token must not get it, it acts with exactly its role.
const config = testConfig(`  everyone: { members: ["*"], may: [lock:production] }
  oncall: { members: [], may: ["read:*", "operate:jobs"] }
`);

describe('operator tokens', () => {
  let store: SqliteStore;
  const clock = new ManualClock();
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(async () => store.close());

  test('lifetimes: days, weeks and the durations config takes; anything else is refused', () => {
    expect(parseTokenLifetime('90d')).toBe(90 * 86_400_000);
    expect(parseTokenLifetime('2w')).toBe(14 * 86_400_000);
    expect(parseTokenLifetime('12h')).toBe(12 * 3_600_000);
    for (const bad of ['0d', '-1d', 'soon', '', '1y', '99999d', '1.5d']) expect([bad, parseTokenLifetime(bad)]).toEqual([bad, null]);
  });

  test('the plaintext is shown once and only its hash is stored; it authenticates as token:<name> with exactly its role until it expires', async () => {
    const { token, record } = await createOperatorToken(store, clock, { name: 'ci', role: 'oncall', expiresIn: '1d', roles: Object.keys(config.roles) });
    expect(token).toMatch(/^dho_[A-Za-z0-9_-]{43}$/);
    expect(record).toEqual({ id: expect.any(Number), name: 'ci', role: 'oncall', createdBy: 'cli', createdAt: clock.now().toISOString(), expiresAt: new Date(clock.now().getTime() + 86_400_000).toISOString(), revokedAt: null, expired: false });
    expect(JSON.stringify(await store.listOperatorTokens())).not.toContain(token);

    const identity = await authenticateOperatorToken(store, clock, token);
    expect(identity).toEqual({ actor: { id: 'token:ci', name: 'ci', roles: ['oncall'] }, role: 'oncall', tokenName: 'ci' });
    const actor = identity!.actor;
    expect(rolesOf(config, actor).map((r) => r.name)).toEqual(['oncall']);
    expect(can(config, actor, { verb: 'read', scope: 'deliveries' })).toBe(true);
    expect(can(config, actor, { verb: 'operate', scope: 'jobs' })).toBe(true);
    expect(can(config, actor, { verb: 'operate', scope: 'deliveries' })).toBe(false);
    expect(can(config, actor, { verb: 'lock', scope: 'production' })).toBe(false); // not "everyone", though "*" matches its id
    expect(can(config, { id: 'token:ci' }, { verb: 'lock', scope: 'production' })).toBe(true); // the same id by membership would be
    expect(() => requirePermission(config, actor, { verb: 'operate', scope: 'deliveries' })).toThrow(expect.objectContaining({ code: ErrorCode.Forbidden, details: { needed: 'operate:deliveries', roles: [] } }));

    expect(await authenticateOperatorToken(store, clock, `${token}x`)).toBeNull();
    expect(await authenticateOperatorToken(store, clock, token.replace('dho_', 'dh_'))).toBeNull();
    clock.advance(86_400_000);
    expect(await authenticateOperatorToken(store, clock, token)).toBeNull();
    expect(await listOperatorTokens(store, clock)).toEqual([expect.objectContaining({ name: 'ci', expired: true })]);
  });

  test('refuses an unknown role with the list of roles, a bad name, a bad lifetime; revoking ends it at once', async () => {
    const roles = Object.keys(config.roles);
    expect((await rejection(createOperatorToken(store, clock, { name: 'ci', role: 'admins', roles }), ErrorCode.Usage)).message).toBe('No role called "admins". Roles: deployers, leads, everyone, oncall.');
    await rejection(createOperatorToken(store, clock, { name: 'no spaces', role: 'oncall', roles }), ErrorCode.Usage);
    await rejection(createOperatorToken(store, clock, { name: '../x', role: 'oncall', roles }), ErrorCode.Usage);
    await rejection(createOperatorToken(store, clock, { name: 'ci', role: 'oncall', expiresIn: 'forever', roles }), ErrorCode.Usage);
    const { token } = await createOperatorToken(store, clock, { name: 'ci', role: 'oncall', roles });
    expect(await authenticateOperatorToken(store, clock, token)).not.toBeNull();
    await revokeOperatorToken(store, clock, 'ci');
    expect(await authenticateOperatorToken(store, clock, token)).toBeNull();
    await rejection(revokeOperatorToken(store, clock, 'ci'), ErrorCode.NotFound);
  });
});

describe('payload masking', () => {
  test('secret values anywhere in a string, and every scalar under a secret-looking key', () => {
    const secret = 'sekrit-value-0123456789';
    expect(maskPayload({ a: `x ${secret} y`, [`k-${secret}`]: 1, token: 'abc', nested: [{ password: 42, apiKey: null, keep: 'ok' }], clientSecret: { inner: 'kept' } }, [secret])).toEqual({
      a: 'x *** y',
      'k-***': 1,
      token: '***',
      nested: [{ password: '***', apiKey: null, keep: 'ok' }],
      clientSecret: { inner: 'kept' },
    });
  });
});
