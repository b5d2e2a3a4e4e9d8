import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { DeckhandError, ErrorCode } from '../../core/errors.js';

export interface Invocation {
  command: string;
  args: string[];
}

export interface InterpreterOptions {
  /** Decides whether an unknown-extension script may be executed directly; injectable for tests. */
  isExecutable?: (scriptPath: string) => boolean;
}

const interpreters: Readonly<Record<string, (scriptPath: string) => Invocation>> = {
  '.ps1': (p) => ({ command: 'pwsh', args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', p] }),
  '.sh': (p) => ({ command: 'bash', args: [p] }),
  '.js': (p) => ({ command: process.execPath, args: [p] }),
  '.mjs': (p) => ({ command: process.execPath, args: [p] }),
  '.cjs': (p) => ({ command: process.execPath, args: [p] }),
  '.py': (p) => ({ command: 'python3', args: [p] }),
};

export const knownScriptExtensions: readonly string[] = Object.keys(interpreters);

function hasExecutableBit(scriptPath: string): boolean {
  try {
    accessSync(scriptPath, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** How to run a script: chosen by extension, or directly when it is executable. */
export function interpreterFor(scriptPath: string, options: InterpreterOptions = {}): Invocation {
  const build = interpreters[path.extname(scriptPath).toLowerCase()];
  if (build) return build(scriptPath);

  const isExecutable = options.isExecutable ?? hasExecutableBit;
  if (isExecutable(scriptPath)) return { command: scriptPath, args: [] };

  throw new DeckhandError(
    ErrorCode.ScriptNotFound,
    `don't know how to run ${scriptPath}: use one of ${knownScriptExtensions.join(', ')} or make it executable`,
    { script: scriptPath },
  );
}
