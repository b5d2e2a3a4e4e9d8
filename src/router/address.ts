import type { ChatMessage } from './types.js';

export interface AddressOptions {
  botName: string;
  prefix: string;
  /** Platform user id of the bot, for mentions like <@U123> (Slack). */
  botUserId?: string;
}

/**
 * The command text when the message is addressed to the bot (mention, name, prefix, or a direct
 * message), else null. "@deckhand deploy api", "deckhand: deploy api", "!deploy api".
 */
export function commandText(message: ChatMessage, options: AddressOptions): string | null {
  const text = message.text.trim();
  const name = options.botName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const mentions = [`@${name}\\b[:,]?`, `${name}[:,]`, `${name}(?=\\s)`];
  if (options.botUserId) mentions.unshift(`<@${options.botUserId}(?:\\|[^>]*)?>[:,]?`);
  const mention = new RegExp(`^(?:${mentions.join('|')})\\s*`, 'i').exec(text);
  if (mention) return text.slice(mention[0].length).trim();
  if (text.startsWith(options.prefix)) return text.slice(options.prefix.length).trim();
  return message.isDirect ? text : null;
}
