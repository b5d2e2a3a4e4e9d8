import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../../../src/app.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { loadCommands } from '../../../src/router/load-commands.js';
import { createRouter, type Router } from '../../../src/router/router.js';
import { defineCommand, type CommandDefinition } from '../../../src/router/types.js';

const stub = (id: string, phrases: string[]): CommandDefinition =>
  defineCommand({ id, summary: id, phrases, args: z.object({}), examples: [], run: () => id }) as CommandDefinition;

describe('router with the shipped commands', () => {
  let router: Router;
  beforeAll(async () => {
    router = createRouter(await loadCommands(path.join(projectRoot, 'commands')));
  });

  test.each([
    ['deploy hello to staging', 'deploy', { app: 'hello', environment: 'staging' }],
    ['deploy hello/feature-x to staging', 'deploy', { app: 'hello', ref: 'feature-x', environment: 'staging' }],
    ['deploy hello to staging --dry-run', 'deploy', { app: 'hello', environment: 'staging', dryRun: true }],
    ['deploy! hello/wip to prod', 'deploy', { app: 'hello', ref: 'wip', environment: 'prod', force: true }],
    ['noop hello', 'deploy', { app: 'hello', dryRun: true }],
    ['deploys hello', 'deploys', { app: 'hello' }],
    ['deploys hello in production', 'deploys', { app: 'hello', environment: 'production' }],
    ['create release hello 1.4.0', 'release', { app: 'hello', version: '1.4.0' }],
    ['lock production because db migration', 'lock', { environment: 'production', reason: 'db migration' }],
    ['lock! production', 'lock', { environment: 'production', takeover: true }],
    ['unlock production', 'unlock', { environment: 'production' }],
    ['locks', 'locks', {}],
    ['where can i deploy hello', 'where', { app: 'hello' }],
    ['rollback hello in production', 'rollback', { app: 'hello', environment: 'production' }],
    ['whoami', 'whoami', {}],
    ['help deploy', 'help', { topic: 'deploy' }],
    ['  deploy   hello   to  staging ', 'deploy', { app: 'hello', environment: 'staging' }],
  ])('%s → %s', (text, id, values) => {
    const result = router.route(text);
    expect(result).toMatchObject({ kind: 'match', values });
    expect(result.kind === 'match' && result.command.id).toBe(id);
  });

  test('a known command with wrong arguments gives its usage', () => {
    const result = router.route('deploy');
    expect(result.kind).toBe('usage');
    expect(result.kind === 'usage' && result.usage).toContain('deploy <app>[/<ref>] [to <environment>]');
  });

  test('a typo gets a "did you mean"', () => {
    expect(router.route('depoly hello to staging')).toEqual({ kind: 'unknown', word: 'depoly', suggestions: ['deploy'] });
    expect(router.route('unlokc production')).toMatchObject({ suggestions: ['unlock'] });
    expect(router.route('frobnicate')).toEqual({ kind: 'unknown', word: 'frobnicate', suggestions: [] });
  });

  test('the README documents every command phrase', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    for (const command of router.commands) for (const usage of router.usage(command)) expect(readme).toContain(usage.split(' [')[0]);
  });

  test('help finds a command by id or by its words', () => {
    expect(router.find('release')?.id).toBe('release');
    expect(router.find('create release')?.id).toBe('release');
    expect(router.find('nope')).toBeUndefined();
  });
});

describe('router start-up checks', () => {
  test('two commands that could match the same text are refused', () => {
    expect(() => createRouter([stub('a', ['lock <env>']), stub('b', ['lock <env> now'])])).toThrow(
      expect.objectContaining({ code: ErrorCode.CommandConflict }),
    );
    expect(() => createRouter([stub('a', ['deploy <app>']), stub('b', ['deploy status'])])).toThrow(/could both match/);
  });

  test('different leading words do not conflict', () => {
    expect(() => createRouter([stub('a', ['lock <env>']), stub('b', ['locks']), stub('c', ['lock! <env>'])])).not.toThrow();
  });

  test('duplicate ids and bad phrases are refused', () => {
    expect(() => createRouter([stub('a', ['x']), stub('a', ['y'])])).toThrow(/id "a"/);
    expect(() => createRouter([stub('a', ['<x> y'])])).toThrow(expect.objectContaining({ code: ErrorCode.CommandLoad }));
  });

  test('a command file that does not export a command stops loading', async () => {
    await expect(loadCommands(path.join(projectRoot, 'test/fixtures/commands-broken'))).rejects.toMatchObject({ code: ErrorCode.CommandLoad });
  });
});
