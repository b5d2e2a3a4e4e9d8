import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * The only variables a script inherits from the bot. Everything else in the bot's environment
 * (chat tokens, webhook secrets, ...) stays out of reach of deployment scripts.
 */
export const INHERITED_ENV_KEYS: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'TEMP', 'TMP', 'SystemRoot', 'PSModulePath',
];

export function buildChildEnv(
  extra: Readonly<Record<string, string>> = {},
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED_ENV_KEYS) {
    const value = parent[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}

export interface PayloadFile {
  path: string;
  /** Removes the file and its private directory; safe to call more than once. */
  remove(): Promise<void>;
}

/** Writes `payload` as JSON into a fresh directory only the current user can read. */
export async function writePayloadFile(payload: unknown): Promise<PayloadFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'deckhand-payload-'));
  const file = path.join(dir, 'payload.json');
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await writeFile(file, JSON.stringify(payload) ?? 'null', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    await remove();
    throw err;
  }
  return { path: file, remove };
}
