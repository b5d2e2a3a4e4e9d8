import type { ChatMessage } from './types.js';

export interface AddressOptions {
  botName: string;
  prefix: string;
  /** Platform user id of the bot, for mentions like <@U123> (Slack). */
  botUserId?: string;
}

/** The bot's names are fixed for a process: each pattern is built once (not per message). */
const mentionPatterns = new Map<string, RegExp>();

function mentionPattern(botName: string, botUserId: string | undefined): RegExp {
  const key = `${botName}\u0000${botUserId ?? ''}`;
  let pattern = mentionPatterns.get(key);
  if (!pattern) {
    const name = botName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const mentions = [`@${name}\\b[:,]?`, `${name}[:,]`, `${name}(?=\\s)`];
    if (botUserId) mentions.unshift(`<@${botUserId}(?:\\|[^>]*)?>[:,]?`);
    // Not global: exec keeps no state between messages.
    pattern = new RegExp(`^(?:${mentions.join('|')})\\s*`, 'i');
    if (mentionPatterns.size >= 64) mentionPatterns.clear();
    mentionPatterns.set(key, pattern);
  }
  return pattern;
}

/**
 * The command text when the message is addressed to the bot (mention, name, prefix, or a direct
 * message), else null. "@deckhand deploy api", "deckhand: deploy api", "!deploy api".
 */
export function commandText(message: ChatMessage, options: AddressOptions): string | null {
  const text = message.text.trim();
  const mention = mentionPattern(options.botName, options.botUserId).exec(text);
  if (mention) return text.slice(mention[0].length).trim();
  if (text.startsWith(options.prefix)) return text.slice(options.prefix.length).trim();
  return message.isDirect ? text : null;
}

