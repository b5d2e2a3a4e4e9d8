import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { typescriptChildExecArgv } from './typescript-child.js';

/**
 * Races claimNextDeployment across real OS processes. better-sqlite3 is synchronous, so two
 * stores in one process can only take turns; only separate processes really contend for the
 * SQLite write lock. Each child loads the TypeScript sources through a tiny loader hook that
 * transpiles them with the project's own `typescript` (no build step, no extra package).
 */

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The child: claims and finishes deployments of web/prod until none is queued, then reports. */
const childSource = `
const [storeUrl, dbPath, exportName] = process.argv.slice(2);
const store = new (await import(storeUrl))[exportName](dbPath);
process.once('message', async () => {
  const claimed = [];
  try {
    for (;;) {
      const now = new Date().toISOString();
      const deployment = await store.claimNextDeployment('web', 'prod', now);
      if (deployment) {
        claimed.push(deployment.id);
        await store.finishDeployment(deployment.id, { state: 'succeeded', finishedAt: now });
        continue;
      }
      const queued = await store.listDeployments({ app: 'web', environment: 'prod', states: ['queued', 'running'], limit: 1 });
      if (queued.length === 0) break;
    }
    process.send({ claimed });
  } catch (err) {
    process.send({ error: String(err && err.stack || err) });
  }
  await store.close();
  process.disconnect();
});
process.send({ ready: true });
`;

export interface RaceResult {
  claimed: number[];
  error?: string;
}

/** Which store class the children open (the module's path from the project root, and its export), given `dbPath`. */
export interface RaceStore {
  module: string;
  exportName: string;
}

/**
 * The harness of every store race: writes `childSource` (which reads `[storeUrl, dbPath,
 * exportName, ...args]` from its argv, says `{ ready: true }` once its store is open, races on the
 * first message and reports one result) into `workDir`, starts `processes` children, releases them
 * all at once, and returns what each reported.
 */
export async function raceInChildren<R>(workDir: string, childSource: string, dbPath: string, processes: number, storeClass: RaceStore, args: readonly string[] = []): Promise<R[]> {
  const execArgv = typescriptChildExecArgv(workDir);
  writeFileSync(join(workDir, 'child.mjs'), childSource);
  const storeUrl = pathToFileURL(join(projectRoot, storeClass.module)).href;
  const children = Array.from({ length: processes }, () =>
    fork(join(workDir, 'child.mjs'), [storeUrl, dbPath, storeClass.exportName, ...args], {
      execArgv,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const nextMessage = (child: (typeof children)[number]) =>
    new Promise<R>((resolve, reject) => {
      child.once('message', (message) => resolve(message as R));
      child.once('exit', (code) => reject(new Error(`race child exited early with code ${code}`)));
    });
  await Promise.all(children.map(nextMessage)); // every child has loaded and opened its store
  const results = children.map(nextMessage);
  for (const child of children) child.send('go');
  return Promise.all(results);
}

/**
 * Starts `processes` children on the database at `dbPath` (already migrated, with queued
 * deployments of web/prod), releases them all at once, and returns what each one claimed.
 */
export async function raceClaims(workDir: string, dbPath: string, processes: number, storeClass: RaceStore = { module: 'src/store/sqlite/sqlite-store.ts', exportName: 'SqliteStore' }): Promise<RaceResult[]> {
  return raceInChildren<RaceResult>(workDir, childSource, dbPath, processes, storeClass);
}
