import { interpreterFor } from '../../../../src/providers/script/interpreter.js';
import { isDeckhandError } from '../../../../src/core/errors.js';

describe('interpreterFor', () => {
  test('runs PowerShell scripts through pwsh without profile or prompts', () => {
    expect(interpreterFor('scripts/deploy.ps1')).toEqual({
      command: 'pwsh',
      args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', 'scripts/deploy.ps1'],
    });
  });

  test('runs shell scripts through bash', () => {
    expect(interpreterFor('/srv/app/deploy.sh')).toEqual({ command: 'bash', args: ['/srv/app/deploy.sh'] });
  });

  test.each(['x.js', 'x.mjs', 'x.cjs'])('runs %s with the node that runs the bot', (file) => {
    expect(interpreterFor(file)).toEqual({ command: process.execPath, args: [file] });
  });

  test('runs Python scripts through python3', () => {
    expect(interpreterFor('tools/check.py')).toEqual({ command: 'python3', args: ['tools/check.py'] });
  });

  test('matches the extension case-insensitively', () => {
    expect(interpreterFor('DEPLOY.PS1').command).toBe('pwsh');
  });

  test('executes other files directly when they are executable', () => {
    expect(interpreterFor('bin/deploy', { isExecutable: () => true })).toEqual({ command: 'bin/deploy', args: [] });
  });

  test('refuses other files that are not executable, with a clear message', () => {
    let caught: unknown;
    try {
      interpreterFor('notes.txt', { isExecutable: () => false });
    } catch (err) {
      caught = err;
    }
    expect(isDeckhandError(caught, 'E_SCRIPT_NOT_FOUND')).toBe(true);
    expect((caught as Error).message).toMatch(/notes\.txt.*\.ps1.*make it executable/);
  });
});
