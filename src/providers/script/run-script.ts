import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { execa as Execa } from 'execa';
import { DeckhandError, ErrorCode } from '../../core/errors.js';
import { lazyImport } from '../../core/lazy-module.js';
import { buildChildEnv, writePayloadFile, type PayloadFile } from './child-env.js';
import { interpreterFor, type Invocation } from './interpreter.js';
import { LineSplitter } from './line-splitter.js';
import { OutputBuffer } from './output-buffer.js';
import { isGroupAlive, terminateGroup } from './process-group.js';
import { createRedactor, type Redactor } from './redact.js';
import type { OutputStream, ScriptRunRequest, ScriptRunResult } from './types.js';

export const DEFAULT_KILL_GRACE_MS = 5000;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
export const DEFAULT_PAYLOAD_ENV_VAR = 'DECKHAND_PAYLOAD_FILE';
/** setTimeout fires at once for longer delays, so longer timeouts are capped to this (~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** execa (about 100 files) is loaded by the first script run, not by every start (decision 016). */
const loadExeca = lazyImport('execa', () => import('execa'));

/**
 * Runs a script in its own process group and reports how it ended. A non-zero exit, a timeout
 * or an abort is a result, not an exception; only "could not start it at all" throws.
 */
export async function runScript(req: ScriptRunRequest): Promise<ScriptRunResult> {
  const redact = createRedactor(req.secrets ?? []);
  const scriptPath = path.resolve(req.cwd, req.script);
  await assertRunnable(req, scriptPath, redact);
  const invocation = interpreterFor(scriptPath);

  if (req.signal?.aborted) {
    return { exitCode: null, signal: null, timedOut: false, aborted: true, durationMs: 0, output: '', truncated: false };
  }

  const { execa } = await loadExeca();
  let payload: PayloadFile | undefined;
  try {
    const env: Record<string, string> = { ...req.env };
    if (req.payload !== undefined) {
      payload = await writePayloadFile(req.payload);
      env[req.payloadEnvVar ?? DEFAULT_PAYLOAD_ENV_VAR] = payload.path;
    }
    return await spawnAndWait(execa, req, invocation, buildChildEnv(env), redact);
  } finally {
    await payload?.remove();
  }
}

async function assertRunnable(req: ScriptRunRequest, scriptPath: string, redact: Redactor): Promise<void> {
  const script = await stat(scriptPath).catch(() => undefined);
  if (!script?.isFile()) {
    throw new DeckhandError(ErrorCode.ScriptNotFound, redact(`script not found: ${req.script} (looked for ${scriptPath})`), {
      script: redact(req.script),
    });
  }
  // Checked up front because spawning in a missing directory fails with the same ENOENT as a missing interpreter.
  const cwd = await stat(req.cwd).catch(() => undefined);
  if (!cwd?.isDirectory()) {
    throw new DeckhandError(ErrorCode.ConfigInvalid, redact(`working directory ${req.cwd} does not exist (needed for ${req.script})`), {
      cwd: redact(req.cwd),
    });
  }
}

async function spawnAndWait(
  execa: typeof Execa,
  req: ScriptRunRequest,
  invocation: Invocation,
  env: Record<string, string>,
  redact: Redactor,
): Promise<ScriptRunResult> {
  const output = new OutputBuffer(req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  const lineSink = (stream: OutputStream) => (raw: string) => {
    const line = redact(raw);
    output.append(`${line}\n`);
    try {
      req.onLine?.(line, stream);
    } catch {
      // A failing listener (e.g. a chat update that could not be sent) must not break the deployment.
    }
  };
  const stdoutLines = new LineSplitter(lineSink('stdout'));
  const stderrLines = new LineSplitter(lineSink('stderr'));

  const started = performance.now();
  const subprocess = execa(invocation.command, [...invocation.args, ...(req.args ?? [])], {
    cwd: req.cwd,
    env,
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    detached: true,
  });
  subprocess.stdout?.on('data', (chunk: Buffer | string) => stdoutLines.push(chunk));
  subprocess.stderr?.on('data', (chunk: Buffer | string) => stderrLines.push(chunk));

  const pgid = subprocess.pid;
  if (pgid !== undefined) {
    try {
      req.onSpawn?.(pgid);
    } catch {
      // Recording the group is best effort: the run goes on without it.
    }
  }
  const graceMs = req.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  let termination: Promise<void> | undefined;
  const terminate = () => {
    if (pgid !== undefined) termination ??= terminateGroup(pgid, graceMs);
  };

  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    if (!termination) timedOut = true;
    terminate();
  }, Math.min(req.timeoutMs, MAX_TIMER_MS));
  const onAbort = () => {
    if (!termination) aborted = true;
    terminate();
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  const stopWatching = () => {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  };

  // Whatever the script left running in its group would hold the output pipes open and
  // keep this run from ever finishing, so it goes when the script does.
  subprocess.once('exit', () => {
    stopWatching();
    if (pgid !== undefined && isGroupAlive(pgid)) terminate();
  });

  const result = await subprocess;
  stopWatching();
  stdoutLines.end();
  stderrLines.end();

  if (pgid === undefined) throw spawnError(req, invocation, result.code, redact);
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    timedOut,
    aborted,
    durationMs: Math.round(performance.now() - started),
    output: output.text(),
    truncated: output.truncated,
  };
}

function spawnError(req: ScriptRunRequest, invocation: Invocation, code: string | undefined, redact: Redactor): DeckhandError {
  const details = { script: redact(req.script), interpreter: redact(invocation.command) };
  if (code === 'ENOENT') {
    const runsDirectly = invocation.command === path.resolve(req.cwd, req.script);
    const message = runsDirectly
      ? `the interpreter named on the first line of ${req.script} is not installed`
      : `${invocation.command} is not installed or not on PATH (needed for ${req.script})`;
    return new DeckhandError(ErrorCode.InterpreterMissing, redact(message), details);
  }
  return new DeckhandError(ErrorCode.Internal, redact(`could not start ${req.script}: ${code ?? 'unknown error'}`), details);
}
