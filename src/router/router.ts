import { distance } from 'fastest-levenshtein';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { compilePhrase, type CompiledPhrase } from './grammar.js';
import type { CommandDefinition } from './types.js';

interface CompiledCommand {
  command: CommandDefinition;
  phrases: Array<CompiledPhrase & { set: Readonly<Record<string, unknown>> }>;
}

export type RouteResult =
  | { kind: 'match'; command: CommandDefinition; values: Record<string, unknown> }
  | { kind: 'usage'; command: CommandDefinition; usage: string[] }
  | { kind: 'unknown'; word: string; suggestions: string[] };

export interface Router {
  readonly commands: readonly CommandDefinition[];
  route(text: string): RouteResult;
  usage(command: CommandDefinition): string[];
  find(idOrKeyword: string): CommandDefinition | undefined;
  suggest(text: string): string[];
}

const startsWith = (words: string[], prefix: string[]) => prefix.every((word, i) => words[i] === word);

/**
 * Builds the router from command declarations. Two commands whose phrases could match the same
 * text (one's leading words equal to or a prefix of the other's) are a start-up error.
 */
export function createRouter(commands: readonly CommandDefinition[]): Router {
  const compiled: CompiledCommand[] = [];
  const ids = new Set<string>();
  for (const command of commands) {
    if (ids.has(command.id)) throw new DeckhandError(ErrorCode.CommandConflict, `Two commands have the id "${command.id}".`);
    ids.add(command.id);
    const phrases = command.phrases.map((phrase) => {
      const { pattern, set } = typeof phrase === 'string' ? { pattern: phrase, set: {} } : { pattern: phrase.pattern, set: phrase.set ?? {} };
      try {
        return { ...compilePhrase(pattern), set };
      } catch (err) {
        throw new DeckhandError(ErrorCode.CommandLoad, `Command "${command.id}": ${(err as Error).message}`);
      }
    });
    if (phrases.length === 0) throw new DeckhandError(ErrorCode.CommandLoad, `Command "${command.id}" declares no phrases.`);
    compiled.push({ command, phrases });
  }

  for (const [i, a] of compiled.entries()) {
    for (const b of compiled.slice(i + 1)) {
      for (const pa of a.phrases) {
        for (const pb of b.phrases) {
          if (startsWith(pa.keywords, pb.keywords) || startsWith(pb.keywords, pa.keywords)) {
            throw new DeckhandError(
              ErrorCode.CommandConflict,
              `Commands "${a.command.id}" ("${pa.pattern}") and "${b.command.id}" ("${pb.pattern}") could both match the same message. Give one of them different leading words.`,
            );
          }
        }
      }
    }
  }

  const allKeywords = compiled.flatMap((c) => c.phrases.map((p) => ({ command: c.command, words: p.keywords })));

  // Index by first word: routing looks at one bucket instead of every phrase.
  const byFirstWord = new Map<string, CompiledCommand[]>();
  for (const entry of compiled) {
    for (const phrase of entry.phrases) {
      const bucket = byFirstWord.get(phrase.keywords[0] ?? '') ?? [];
      if (!bucket.includes(entry)) bucket.push(entry);
      byFirstWord.set(phrase.keywords[0] ?? '', bucket);
    }
  }
  const owner = (words: string[]) => byFirstWord.get(words[0] ?? '')?.find((c) => c.phrases.some((p) => startsWith(words, p.keywords)));

  const usage = (command: CommandDefinition) => [...new Set(compiled.find((c) => c.command === command)?.phrases.map((p) => p.usage) ?? [])];

  const suggest = (text: string): string[] => {
    const words = text.trim().toLowerCase().split(/\s+/);
    const scored = allKeywords
      .map(({ words: keywords }) => {
        const typed = words.slice(0, keywords.length).join(' ');
        const wanted = keywords.join(' ');
        const limit = wanted.length >= 5 ? 2 : 1;
        const d = distance(typed, wanted);
        return { wanted, d, ok: d <= limit };
      })
      .filter((s) => s.ok)
      .sort((x, y) => x.d - y.d);
    return [...new Set(scored.map((s) => s.wanted))];
  };

  return {
    commands,
    usage,
    suggest,
    find: (idOrKeyword) => {
      const key = idOrKeyword.trim().toLowerCase();
      return commands.find((c) => c.id === key) ?? owner(key.split(/\s+/))?.command;
    },
    route(text) {
      const normalized = text.trim().replace(/\s+/g, ' ');
      const words = normalized.toLowerCase().split(' ');
      const entry = owner(words);
      if (!entry) return { kind: 'unknown', word: words[0] ?? '', suggestions: suggest(normalized) };
      for (const phrase of entry.phrases) {
        if (!startsWith(words, phrase.keywords)) continue;
        const match = phrase.regex.exec(normalized);
        if (!match) continue;
        const values: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(match.groups ?? {})) if (value !== undefined) values[name] = value;
        return { kind: 'match', command: entry.command, values: { ...values, ...phrase.set } };
      }
      return { kind: 'usage', command: entry.command, usage: usage(entry.command) };
    },
  };
}
