import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { CommandDefinition } from './types.js';

/**
 * Loads every command file of a directory (each default-exports a definition). A broken file
 * stops start-up with its name: a command that silently went missing is worse.
 */
export async function loadCommands(dir: string): Promise<CommandDefinition[]> {
  const files = (await readdir(dir)).filter((f) => /\.(js|mjs|ts)$/.test(f) && !f.endsWith(".d.ts")).sort();
  const commands: CommandDefinition[] = [];
  for (const file of files) {
    const full = path.join(dir, file);
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(full).href)) as { default?: unknown };
    } catch (err) {
      throw new DeckhandError(ErrorCode.CommandLoad, `Command file ${full} failed to load: ${(err as Error).message}`, {}, { cause: err });
    }
    const def = mod.default as Partial<CommandDefinition> | undefined;
    if (!def || typeof def.id !== 'string' || typeof def.run !== 'function' || !Array.isArray(def.phrases) || !def.args) {
      throw new DeckhandError(ErrorCode.CommandLoad, `Command file ${full} must default-export defineCommand({ id, summary, phrases, args, examples, run }).`);
    }
    commands.push(def as CommandDefinition);
  }
  return commands;
}
