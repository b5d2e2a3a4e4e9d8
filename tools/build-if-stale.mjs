#!/usr/bin/env node
// `npm start` and friends: build the bot (tsconfig.build.json: src, commands, adapters; not tests
// or bench) only when a source is newer than the last build, so a start with nothing changed goes
// straight to the prompt instead of type-checking for seconds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Written after each successful build (tsc leaves its own .tsbuildinfo alone when nothing changed).
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['src', 'commands', 'adapters'];
const configs = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function newest(file) {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(file).reduce((max, name) => Math.max(max, newest(path.join(file, name))), 0);
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const changed = [...inputs, ...configs].map((p) => path.join(root, p)).filter(existsSync).some((p) => newest(p) > built);
if (changed) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    // An install without dev dependencies (npm install --omit=dev) has no compiler: as `prepare`
    // (--if-possible) that is not an error; before a start it is, unless a build exists.
    const built = existsSync(path.join(root, 'dist', 'src', 'main.js'));
    console.error(`deckhand: TypeScript is not installed, so the sources cannot be built${built ? '; using the existing dist/' : ': run npm install (with dev dependencies)'}.`);
    process.exit(built || process.argv.includes('--if-possible') ? 0 : 1);
  }
  const started = Date.now();
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  // Stamped with the start time: a source saved during the build counts as changed next time.
  writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
  const at = new Date(started);
  utimesSync(stamp, at, at);
}
