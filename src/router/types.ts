import type { z } from 'zod';
import type { Actions } from '../actions/index.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { Actor } from '../core/permissions.js';
import type { Router } from './router.js';

/** One message from any chat platform, as adapters hand it to the router. */
export interface ChatMessage {
  /** Unique per platform (Slack ts / event id); used for de-duplication and reactions. */
  id: string;
  user: string;
  userName?: string;
  room: string;
  thread?: string;
  text: string;
  /** A direct message to the bot: no prefix or mention needed. */
  isDirect: boolean;
  adapter: string;
}

export interface ChatReply {
  text: string;
  /** Platform-neutral hint: the reply is an error / a warning (adapters may decorate it). */
  tone?: 'info' | 'success' | 'warning' | 'error';
}

export type Reply = string | ChatReply;

export interface Phrase {
  /** e.g. "deploy <app>[/<ref>] [to <environment>]" — see src/router/grammar.ts. */
  pattern: string;
  /** Values added to the matched arguments (e.g. { force: true } for "deploy!"). */
  set?: Readonly<Record<string, unknown>>;
}

export interface CommandContext {
  message: ChatMessage;
  actor: Actor;
  actions: Actions;
  config: DeckhandConfig;
  clock: Clock;
  /** The router, for commands about commands (help). */
  router: Router;
}

/** A chat command: one file in commands/, default-exporting defineCommand({...}). */
export interface CommandDefinition<A = unknown> {
  id: string;
  summary: string;
  description?: string;
  phrases: ReadonlyArray<string | Phrase>;
  /** Validates and shapes the matched words (and `set` values) into the handler's arguments. */
  args: z.ZodType<A>;
  examples: readonly string[];
  /** The permission the action checks, for help, e.g. "deploy:<environment>". */
  permission?: string;
  /** When it returns a question, the user must answer yes before run() is called. */
  confirm?: (args: A, ctx: CommandContext) => Promise<string | null> | string | null;
  run(args: A, ctx: CommandContext): Promise<Reply> | Reply;
}

export function defineCommand<A>(definition: CommandDefinition<A>): CommandDefinition<A> {
  return definition;
}
