import path from 'node:path';
import { projectRoot } from '../../../src/app.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { can } from '../../../src/core/permissions.js';
import { OwnDeployments } from '../../../src/github/own-deployments.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const clock = { now: () => new Date('2026-01-01T00:00:00Z') };

describe('OwnDeployments: which GitHub deployments Deckhand created, by its own records', () => {
  let store: SqliteStore;
  let own: OwnDeployments;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    own = new OwnDeployments({ store, clock });
  });
  afterEach(async () => store.close());

  test('a payload alone is nothing; a key is "creating" until the call settles, then only the id GitHub gave counts', async () => {
    expect(await own.provenance('acme/api', 7, 'd1:api:staging:1')).toBe('unknown');
    await own.creating('acme/api', 'd1:api:staging:1');
    expect(await own.provenance('acme/api', 7, 'd1:api:staging:1')).toBe('creating');
    // Another repository's deployment with the same key is not waited for.
    expect(await own.provenance('acme/web', 7, 'd1:api:staging:1')).toBe('unknown');
    await own.settled('Acme/API', 'd1:api:staging:1', 7);
    expect(await own.provenance('acme/api', 7, 'd1:api:staging:1')).toBe('created');
    expect(await own.provenance('ACME/api', 7, undefined)).toBe('created');
    // Someone who copies the payload (key and all) into a deployment of their own gets nothing.
    expect(await own.provenance('acme/api', 8, 'd1:api:staging:1')).toBe('unknown');
    expect(await own.provenance('acme/api', 9, 42)).toBe('unknown');
  });

  test('a call that failed or never settled (the process stopped) is abandoned: its orphan is neither waited for nor run', async () => {
    await own.creating('acme/api', 'd2:api:staging:1');
    await own.abandoned('acme/api', 'd2:api:staging:1');
    expect(await own.provenance('acme/api', 11, 'd2:api:staging:1')).toBe('abandoned');

    await own.creating('acme/api', 'd3:api:staging:1');
    await own.abandonUnsettled('acme/api', 'd3:api:staging:1');
    expect(await own.provenance('acme/api', 12, 'd3:api:staging:1')).toBe('abandoned');

    // A settled call is left alone, and a key that was never used stays unknown.
    await own.creating('acme/api', 'd4:api:staging:1');
    await own.settled('acme/api', 'd4:api:staging:1', null);
    await own.abandonUnsettled('acme/api', 'd4:api:staging:1');
    await own.abandonUnsettled('acme/api', 'd5:api:staging:1');
    expect(await own.provenance('acme/api', 13, 'd4:api:staging:1')).toBe('unknown');
    expect(await own.provenance('acme/api', 14, 'd5:api:staging:1')).toBe('unknown');
  });

  test('refusals are remembered per repository and deployment', async () => {
    expect(await own.isRefused('acme/api', 21)).toBe(false);
    await own.refused('acme/API', 21);
    expect(await own.isRefused('acme/api', 21)).toBe(true);
    expect(await own.isRefused('acme/api', 22)).toBe(false);
  });
});

describe('config: github.run_deployments, and roles for GitHub users', () => {
  const parse = (app: string, roles = '') =>
    parseConfig(`environments: { staging: {}, production: {} }\napps:\n  api:\n${app}\n    provider: { script: scripts/hello-deploy.sh }\n    environments: [staging, production]\n${roles}`, path.join(projectRoot, 'deckhand.unit.yaml'), {});

  test('off unless the app opts in; needs the repository', () => {
    expect(parse('    repository: acme/api').apps.api?.github).toEqual({ runDeployments: false });
    expect(parse('    repository: acme/api\n    github: { run_deployments: true }').apps.api?.github).toEqual({ runDeployments: true });
    expect(() => parse('    github: { run_deployments: true }')).toThrow(/apps\.api\.github\.run_deployments: run_deployments needs the app's repository/);
    expect(() => parse('    repository: acme/api\n    github: { run_deployment: true }')).toThrow(/run_deployment/);
  });

  test('github:<login> and github:* in role members; chat members do not cover GitHub users', () => {
    const config = parse(
      '    repository: acme/api',
      'roles:\n  gh: { members: ["github:*"], may: ["deploy:staging"] }\n  rel: { members: ["github:alice"], may: ["deploy:production"] }\n  chat: { members: ["U*"], may: ["deploy:*"] }',
    );
    const github = (login: string) => ({ id: `github:${login}` });
    expect(can(config, github('mallory'), { verb: 'deploy', scope: 'staging' })).toBe(true);
    expect(can(config, github('mallory'), { verb: 'deploy', scope: 'production' })).toBe(false);
    expect(can(config, github('alice'), { verb: 'deploy', scope: 'production' })).toBe(true);
    expect(can(config, github('alicex'), { verb: 'deploy', scope: 'production' })).toBe(false);
    expect(can(config, { id: 'U123' }, { verb: 'deploy', scope: 'production' })).toBe(true);
  });
});
