import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runScript } from '../../../../src/providers/script/run-script.js';
import type { OutputStream, ScriptRunRequest } from '../../../../src/providers/script/types.js';
import { DeckhandError } from '../../../../src/core/errors.js';
import { fixture, fixturesDir, isGone, onPath, waitFor } from './helpers.js';

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'deckhand-run-script-test-'));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function run(script: string, extra: Partial<ScriptRunRequest> = {}) {
  return runScript({ script: fixture(script), cwd: fixturesDir, timeoutMs: 2000, killGraceMs: 200, ...extra });
}

async function rejection(promise: Promise<unknown>): Promise<DeckhandError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DeckhandError) return err;
    throw err;
  }
  throw new Error('expected a DeckhandError');
}

describe('runScript: exit status', () => {
  test('reports success', async () => {
    const result = await run('exit-with.sh', { args: ['0'] });
    expect(result).toMatchObject({ exitCode: 0, signal: null, timedOut: false, aborted: false, truncated: false });
    expect(result.output).toBe('args: 0\n');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  test('returns a non-zero exit instead of throwing', async () => {
    const result = await run('exit-with.sh', { args: ['7', 'extra arg; $(echo not evaluated)'] });
    expect(result.exitCode).toBe(7);
    expect(result.output).toBe('args: 7 extra arg; $(echo not evaluated)\n');
  });

  test('runs an executable file without a known extension directly', async () => {
    const result = await run('run-directly', { args: ['a', 'b'] });
    expect(result).toMatchObject({ exitCode: 0, output: 'ran directly with 2 args\n' });
  });

  test('resolves the script relative to cwd', async () => {
    const result = await runScript({ script: 'exit-with.sh', args: ['4'], cwd: fixturesDir, timeoutMs: 2000 });
    expect(result.exitCode).toBe(4);
  });
});

describe('runScript: environment and payload', () => {
  const leaked = 'SLACK_BOT_TOKEN';
  beforeEach(() => {
    process.env[leaked] = 'xoxb-must-not-leak';
  });
  afterEach(() => {
    delete process.env[leaked];
  });

  test('passes the safe base plus the requested variables, nothing else', async () => {
    const result = await run('print-env.mjs', { env: { DECKHAND_APP: 'hello' } });
    const env = JSON.parse(result.output) as Record<string, string>;
    expect(env.DECKHAND_APP).toBe('hello');
    expect(env.PATH).toBe(process.env.PATH);
    expect(env).not.toHaveProperty(leaked);
    const allowed = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'TEMP', 'TMP', 'SystemRoot', 'PSModulePath', 'DECKHAND_APP'];
    expect(Object.keys(env).filter((key) => !allowed.includes(key))).toEqual([]);
    expect(result.output).not.toContain('xoxb-must-not-leak');
  });

  test('hands the payload over in a private JSON file and removes it afterwards', async () => {
    const payload = { deployment: { id: 12, ref: 'v1.2.3' }, note: 'ünïcode' };
    const result = await run('read-payload.mjs', { payload });
    expect(result.exitCode).toBe(0);
    const seen = JSON.parse(result.output) as { file: string; mode: string; payload: unknown };
    expect(seen.payload).toEqual(payload);
    expect(seen.mode).toBe('600');
    expect(existsSync(seen.file)).toBe(false);
    expect(existsSync(path.dirname(seen.file))).toBe(false);
  });

  test('uses the requested variable name for the payload file', async () => {
    const result = await run('read-payload.mjs', { payload: [1, 2], payloadEnvVar: 'DECKHAND_DEPLOYMENT_FILE', args: ['DECKHAND_DEPLOYMENT_FILE'] });
    expect(JSON.parse(result.output)).toMatchObject({ payload: [1, 2] });
  });

  test('sets no payload variable without a payload', async () => {
    const result = await run('print-env.mjs');
    expect(JSON.parse(result.output)).not.toHaveProperty('DECKHAND_PAYLOAD_FILE');
  });
});

describe('runScript: output', () => {
  test('passes stdout and stderr lines to onLine and interleaves them in output', async () => {
    const lines: Array<[string, OutputStream]> = [];
    const result = await run('two-streams.sh', { onLine: (line, stream) => lines.push([line, stream]) });
    expect(lines).toEqual([
      ['out one', 'stdout'],
      ['err one', 'stderr'],
      ['out two', 'stdout'],
      ['no newline at the end', 'stdout'],
    ]);
    expect(result.output).toBe('out one\nerr one\nout two\nno newline at the end\n');
  });

  test('a throwing onLine listener does not break the run', async () => {
    const result = await run('two-streams.sh', {
      onLine: () => {
        throw new Error('chat is down');
      },
    });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('out two');
  });

  test('redacts secrets in output and in lines', async () => {
    const secret = 'tok-4f9c2a7e';
    const lines: string[] = [];
    const result = await run('print-secret.sh', { env: { DEPLOY_TOKEN: secret }, secrets: [secret], onLine: (line) => lines.push(line) });
    expect(result.output).toBe('using token *** for the upload\nauth failed for ***\n');
    expect(lines.join('\n')).not.toContain(secret);
  });

  test('keeps only the tail of large output', async () => {
    const lines: string[] = [];
    const result = await run('big-output.mjs', { maxOutputBytes: 4096, onLine: (line) => lines.push(line) });
    expect(result.exitCode).toBe(0);
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(4096);
    expect(result.output.endsWith('THE LAST LINE\n')).toBe(true);
    expect(lines).toHaveLength(11001);
  });
});

describe('runScript: timeouts and aborts', () => {
  test('a timeout kills the script and the child it started', async () => {
    const pidFile = path.join(scratch, 'child.pid');
    const result = await run('hang-with-child.sh', { args: [pidFile], timeoutMs: 500 });
    expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: 'SIGTERM' });
    expect(result.output).toContain('started child');
    const child = Number(readFileSync(pidFile, 'utf8'));
    expect(await waitFor(() => isGone(child), 1000)).toBe(true);
  });

  test('sends SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const pidFile = path.join(scratch, 'child.pid');
    const started = Date.now();
    const result = await run('ignore-term.sh', { args: [pidFile], timeoutMs: 500, killGraceMs: 300 });
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(750);
    const child = Number(readFileSync(pidFile, 'utf8'));
    expect(await waitFor(() => isGone(child), 1000)).toBe(true);
  });

  test('aborting kills the script and the child it started', async () => {
    const pidFile = path.join(scratch, 'child.pid');
    const controller = new AbortController();
    const result = await run('hang-with-child.sh', {
      args: [pidFile],
      signal: controller.signal,
      onLine: (line) => {
        if (line.startsWith('started child')) controller.abort();
      },
    });
    expect(result).toMatchObject({ aborted: true, timedOut: false, signal: 'SIGTERM' });
    const child = Number(readFileSync(pidFile, 'utf8'));
    expect(await waitFor(() => isGone(child), 1000)).toBe(true);
  });

  test('does not start the script when already aborted', async () => {
    const pidFile = path.join(scratch, 'child.pid');
    const result = await run('hang-with-child.sh', { args: [pidFile], signal: AbortSignal.abort() });
    expect(result).toMatchObject({ aborted: true, exitCode: null });
    expect(existsSync(pidFile)).toBe(false);
  });

  test('finishes when the script exits, cleaning up children it left behind', async () => {
    const pidFile = path.join(scratch, 'child.pid');
    const started = Date.now();
    const result = await run('leave-child.sh', { args: [pidFile], timeoutMs: 2000 });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    expect(Date.now() - started).toBeLessThan(1500);
    const child = Number(readFileSync(pidFile, 'utf8'));
    expect(await waitFor(() => isGone(child), 1000)).toBe(true);
  });
});

describe('runScript: errors', () => {
  test('a missing script is E_SCRIPT_NOT_FOUND naming the path', async () => {
    const err = await rejection(run('no-such-script.sh'));
    expect(err.code).toBe('E_SCRIPT_NOT_FOUND');
    expect(err.message).toContain('no-such-script.sh');
  });

  test('a directory is not a script', async () => {
    const err = await rejection(runScript({ script: scratch, cwd: scratch, timeoutMs: 1000 }));
    expect(err.code).toBe('E_SCRIPT_NOT_FOUND');
  });

  test('a file of unknown type that is not executable is refused', async () => {
    const err = await rejection(run('plain.txt'));
    expect(err.code).toBe('E_SCRIPT_NOT_FOUND');
    expect(err.message).toContain('plain.txt');
  });

  test('a missing interpreter is E_INTERPRETER_MISSING naming interpreter and script', async () => {
    // An empty PATH makes pwsh unfindable whether or not this machine has it.
    const err = await rejection(run('hello.ps1', { env: { PATH: scratch } }));
    expect(err.code).toBe('E_INTERPRETER_MISSING');
    expect(err.message).toBe(`pwsh is not installed or not on PATH (needed for ${fixture('hello.ps1')})`);
  });

  test('a missing shebang interpreter is E_INTERPRETER_MISSING', async () => {
    const err = await rejection(run('bad-shebang'));
    expect(err.code).toBe('E_INTERPRETER_MISSING');
    expect(err.message).toContain('bad-shebang');
  });

  test('a missing working directory is reported as such', async () => {
    const err = await rejection(runScript({ script: fixture('exit-with.sh'), cwd: path.join(scratch, 'gone'), timeoutMs: 1000 }));
    expect(err.message).toContain('working directory');
  });

  test('errors do not reveal secrets', async () => {
    const err = await rejection(run('missing-tok-4f9c2a7e.sh', { secrets: ['tok-4f9c2a7e'] }));
    expect(err.message).not.toContain('tok-4f9c2a7e');
    expect(JSON.stringify(err.details)).not.toContain('tok-4f9c2a7e');
  });
});

const hasPwsh = onPath('pwsh');
if (!hasPwsh) console.log('pwsh not on PATH: skipped the PowerShell run in run-script.test.ts');

(hasPwsh ? test : test.skip)('runs a .ps1 script through pwsh', async () => {
  const result = await run('hello.ps1', { env: { GREETING: 'hi' }, timeoutMs: 20000 });
  expect(result.exitCode).toBe(3);
  expect(result.output).toBe('hello from pwsh\nGREETING=hi\n');
});
