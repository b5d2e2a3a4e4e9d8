import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';

export const mainJs = path.join(projectRoot, 'dist/src/main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface BotProcess {
  child: ChildProcessWithoutNullStreams;
  cwd: string;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout or stderr contains the text (or rejects after timeoutMs). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  send(line: string): void;
  exited: Promise<number | null>;
}

/** Starts the built bot (npm test builds first) on the terminal adapter in a fresh directory. */
export async function startBot(options: { cwd?: string; env?: Record<string, string> } = {}): Promise<BotProcess> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run "npm run build" (npm test does it).`);
  const cwd = options.cwd ?? mkdtempSync(path.join(os.tmpdir(), 'deckhand-e2e-'));
  const port = options.env?.PORT ? Number(options.env.PORT) : await freePort();
  const child = spawn(process.execPath, [mainJs], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), PORT: String(port), HOST: '127.0.0.1', DECKHAND_SHELL_USER: 'tester', ...options.env },
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk) => {
    out += String(chunk);
    listeners.forEach((l) => l());
  });
  child.stderr.on('data', (chunk) => {
    err += String(chunk);
    listeners.forEach((l) => l());
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    cwd,
    port,
    stdout: () => out,
    stderr: () => err,
    send: (line) => child.stdin.write(`${line}\n`),
    exited,
    waitFor(text, timeoutMs = 15_000) {
      const seen = () => (typeof text === 'string' ? out.includes(text) || err.includes(text) : text.test(out) || text.test(err));
      return new Promise((resolve, reject) => {
        if (seen()) return resolve();
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${String(text)}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`));
        }, timeoutMs);
        const check = () => {
          if (!seen()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        void exited.then(() => setTimeout(() => listeners.has(check) && (listeners.delete(check), clearTimeout(timer), reject(new Error(`bot exited before ${String(text)}\n${out}\n${err}`))), 50));
      });
    },
  };
}
