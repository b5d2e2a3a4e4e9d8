import { randomBytes } from 'node:crypto';
import type { Actions } from '../actions/index.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { asDeckhandError, ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { PendingConfirmation } from '../core/model.js';
import type { Actor } from '../core/permissions.js';
import type { Store } from '../store/types.js';
import { commandText } from './address.js';
import { renderUnknown, renderUsage } from './help.js';
import type { Router } from './router.js';
import type { ChatMessage, ChatReply, CommandContext, CommandDefinition, Reply } from './types.js';

export interface DispatcherOptions {
  router: Router;
  actions: Actions;
  config: DeckhandConfig;
  clock: Clock;
  logger: Logger;
  /**
   * Where open confirmation questions wait for their answer: shared by every process on the
   * store, so a "yes" counts whichever replica receives it.
   */
  store: Pick<Store, 'putConfirmation' | 'takeConfirmation'>;
  botUserId?: string;
  /** How long a confirmation question stays open; default 2 minutes. */
  confirmTtlMs?: number;
}

const yes = /^(y|yes|confirm|go|do it)$/i;
const no = /^(n|no|cancel|stop|abort)$/i;

const toReply = (reply: Reply): ChatReply => (typeof reply === 'string' ? { text: reply } : reply);

/**
 * Turns a chat message into at most one command run: addressing, routing, argument validation,
 * confirmation, and one place where every error becomes a reply.
 */
export function createDispatcher(options: DispatcherOptions) {
  const { router, config, clock, logger, store } = options;
  const ttl = options.confirmTtlMs ?? 120_000;

  const errorReply = (err: unknown, message: ChatMessage, command?: CommandDefinition): ChatReply => {
    const error = asDeckhandError(err);
    if (error.code === ErrorCode.Usage && command) return { text: renderUsage(router, command, error.message), tone: 'warning' };
    if (error.code === ErrorCode.Internal) {
      const errorId = randomBytes(4).toString('hex');
      logger.error({ err, errorId, user: message.user, room: message.room, text: message.text }, 'command failed');
      return { text: `Something went wrong (error id ${errorId}); the details are in Deckhand's log.`, tone: 'error' };
    }
    return { text: error.message, tone: 'error' };
  };

  const run = async (command: CommandDefinition, args: unknown, ctx: CommandContext): Promise<ChatReply> => {
    try {
      return toReply(await command.run(args, ctx));
    } catch (err) {
      return errorReply(err, ctx.message, command);
    }
  };

  const seconds = Math.round(ttl / 1000);

  /**
   * Runs the command a "yes" confirmed. The store keeps the command's text, not its parsed
   * arguments (any zod output, not always JSON), so the text is routed and validated again: the
   * same router gives the same arguments. A replica that routes it elsewhere (another version,
   * mid-upgrade) asks for the command again rather than guess.
   */
  const confirmed = async (waiting: PendingConfirmation, ctx: CommandContext): Promise<ChatReply> => {
    const routed = router.route(waiting.text);
    const parsed = routed.kind === 'match' && routed.command.id === waiting.command ? routed.command.args.safeParse(routed.values) : null;
    if (routed.kind !== 'match' || !parsed?.success) {
      logger.warn({ command: waiting.command, text: waiting.text, user: ctx.message.user }, 'a confirmed command no longer routes the same way');
      return { text: `I could not run ${waiting.command} again from "${waiting.text}"; please say the command again.`, tone: 'warning' };
    }
    return run(routed.command, parsed.data, ctx);
  };

  const addressing = { botName: config.bot.name, prefix: config.bot.prefix, ...(options.botUserId ? { botUserId: options.botUserId } : {}) };

  return {
    /** Whether the message is for the bot at all (mention, name, prefix, direct message): chatter costs nothing. */
    isAddressed(message: ChatMessage): boolean {
      return commandText(message, addressing) !== null;
    },

    /** The replies to a message; null when the message was not addressed to the bot. */
    async handle(message: ChatMessage): Promise<ChatReply | null> {
      const text = commandText(message, addressing);
      if (text === null) return null;
      const actor: Actor = {
        id: message.user,
        ...(message.userName ? { name: message.userName } : {}),
        room: message.room,
        origin: { adapter: message.adapter, room: message.room, messageId: message.id, thread: message.thread ?? null },
      };
      const ctx: CommandContext = { message, actor, actions: options.actions, config, clock, router };

      // Any message from the same person in the same room answers an open question: yes runs it,
      // anything else drops it. Taking it from the store is atomic, so a "yes" that reaches two
      // processes (or is said twice) runs the command once.
      const key = JSON.stringify([message.adapter, message.user, message.room]);
      let waiting: PendingConfirmation | null;
      try {
        waiting = await store.takeConfirmation(key, clock.now().toISOString());
      } catch (err) {
        return errorReply(err, message);
      }
      if (waiting) {
        if (yes.test(text)) return confirmed(waiting, ctx);
        if (no.test(text)) return { text: `OK, cancelled ${waiting.command}.` };
      }
      if (text === '') return { text: `Hi! Say "help" to see what I can do.` };

      const routed = router.route(text);
      if (routed.kind === 'unknown' && (yes.test(text) || no.test(text))) {
        return { text: `There is no question waiting for your answer here (a question stays open for ${seconds} seconds).`, tone: 'warning' };
      }
      if (routed.kind === 'unknown') return { text: renderUnknown(routed.word, routed.suggestions), tone: 'warning' };
      if (routed.kind === 'usage') return { text: renderUsage(router, routed.command), tone: 'warning' };

      const parsed = routed.command.args.safeParse(routed.values);
      if (!parsed.success) {
        const problem = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
        return { text: renderUsage(router, routed.command, problem), tone: 'warning' };
      }
      if (routed.command.confirm) {
        try {
          const question = await routed.command.confirm(parsed.data, ctx);
          if (question) {
            const now = clock.now();
            await store.putConfirmation({ key, command: routed.command.id, text, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + ttl).toISOString() });
            return { text: `${question}\nReply "yes" to go ahead or "no" to cancel (within ${seconds} seconds).` };
          }
        } catch (err) {
          return errorReply(err, message, routed.command);
        }
      }
      return run(routed.command, parsed.data, ctx);
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
