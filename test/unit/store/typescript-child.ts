import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Lets a child process (fork) import the project's TypeScript sources directly: a loader hook that
 * transpiles them with the project's own `typescript` (no build step, no extra package). Used by
 * the races that need real OS processes (better-sqlite3 is synchronous, so two stores in one
 * process only take turns).
 */

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));

const hooksSource = `
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
const ts = createRequire(${JSON.stringify(join(projectRoot, 'package.json'))})('typescript');
const isPath = (s) => s.startsWith('.') || s.startsWith('/') || s.startsWith('file:');
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (isPath(specifier) && specifier.endsWith('.js')) return next(specifier.slice(0, -3) + '.ts', context);
    throw err;
  }
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: url,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
`;

const registerSource = `
import { register } from 'node:module';
register('./hooks.mjs', import.meta.url);
`;

/** Writes the loader into `workDir`; returns the execArgv that makes a forked child use it. */
export function typescriptChildExecArgv(workDir: string): string[] {
  writeFileSync(join(workDir, 'hooks.mjs'), hooksSource);
  writeFileSync(join(workDir, 'register.mjs'), registerSource);
  return ['--import', pathToFileURL(join(workDir, 'register.mjs')).href];
}
