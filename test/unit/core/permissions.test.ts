import { blockingLock, describeLock } from '../../../src/core/locks.js';
import { can, grantCovers, rolesGranting } from '../../../src/core/permissions.js';
import { resolveApp, resolveAppEnvironment, resolveEnvironment } from '../../../src/core/resolve-target.js';
import { globMatch } from '../../../src/core/glob.js';
import { testConfig } from '../../fixtures/config.js';

const config = testConfig();

describe('permissions', () => {
  test.each([
    ['deploy:staging', 'deploy', 'staging', true],
    ['deploy:*', 'deploy', 'production', true],
    ['deploy:staging', 'deploy', 'production', false],
    ['*:staging', 'lock', 'staging', true],
    ['admin:*', 'force', 'production', true],
    ['lock:*', 'deploy', 'staging', false],
  ] as const)('%s covers %s:%s → %s', (grant, verb, scope, expected) => {
    expect(grantCovers(grant, { verb, scope })).toBe(expected);
  });

  test('members match by id or glob; system actors skip checks', () => {
    expect(can(config, { id: 'alice' }, { verb: 'deploy', scope: 'staging' })).toBe(true);
    expect(can(config, { id: 'alice' }, { verb: 'deploy', scope: 'production' })).toBe(false);
    expect(can(config, { id: 'shell:root' }, { verb: 'deploy', scope: 'staging' })).toBe(true);
    expect(can(config, { id: 'mallory' }, { verb: 'deploy', scope: 'staging' })).toBe(false);
    expect(can(config, { id: 'scheduler', system: true }, { verb: 'deploy', scope: 'production' })).toBe(true);
    expect(rolesGranting(config, { verb: 'deploy', scope: 'production' })).toEqual(['leads']);
  });

  test('glob is literal apart from *', () => {
    expect(globMatch('shell:*', 'shell:root')).toBe(true);
    expect(globMatch('U0.*', 'U0xyz')).toBe(false);
    expect(globMatch('a*c', 'abbc')).toBe(true);
  });
});

describe('target resolution', () => {
  test('aliases and defaults', () => {
    const hello = resolveApp(config, 'hello');
    expect(resolveAppEnvironment(config, hello, 'prod')).toBe('production');
    expect(resolveAppEnvironment(config, hello, undefined)).toBe('staging');
    expect(resolveEnvironment(config, 'stg')).toBe('staging');
  });

  test('unknown names list what exists, with a suggestion when close', () => {
    expect(() => resolveApp(config, 'helo')).toThrow('I don\'t know an app called "helo". Did you mean hello? Known apps: hello, api.');
    expect(() => resolveAppEnvironment(config, resolveApp(config, 'hello'), 'qa')).toThrow('hello can\'t be deployed to "qa". Its environments: staging, production.');
    expect(() => resolveAppEnvironment(config, resolveApp(config, 'api'), undefined)).toThrow('Say where to deploy api: "to staging" or "to production".');
    expect(() => resolveEnvironment(config, 'prodution')).toThrow(/Did you mean production\?/);
  });

  test('prototype names are not apps', () => {
    expect(() => resolveApp(config, 'constructor')).toThrow(/Known apps/);
    expect(() => resolveEnvironment(config, '__proto__')).toThrow(/Environments/);
  });
});

describe('lock rules', () => {
  const lock = { environment: 'production', app: null, holder: 'alice', reason: 'db migration', since: '2026-11-23T10:00:00.000Z' };

  test('a lock blocks everyone unless the holder exception is on', () => {
    expect(blockingLock([lock], 'bob', true)).toBe(lock);
    expect(blockingLock([lock], 'alice', true)).toBeNull();
    expect(blockingLock([lock], 'alice', false)).toBe(lock);
    expect(blockingLock([], 'alice', false)).toBeNull();
  });

  test('describeLock says by whom, why and since when', () => {
    expect(describeLock(lock, new Date('2026-11-23T10:12:00Z'))).toBe('production is locked by alice since 2026-11-23 10:00 UTC (12 minutes ago): db migration');
    expect(describeLock({ ...lock, app: 'api', reason: null }, new Date('2026-11-23T10:00:00Z'))).toBe('api in production is locked by alice since 2026-11-23 10:00 UTC (just now) (no reason given)');
  });
});
