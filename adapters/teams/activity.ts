import { z } from 'zod';
import type { ChatMessage } from '../../src/router/types.js';

/**
 * The fields of a Bot Framework activity that Deckhand reads (Bot Framework Activity schema; Teams
 * adds `aadObjectId`, `conversation.conversationType` and `channelData.tenant`). Anything else is
 * kept and ignored; what Deckhand needs must be there with the right type, or the request is a 400.
 */
export const activitySchema = z.looseObject({
  type: z.string().min(1).max(100),
  id: z.string().min(1).max(500).optional(),
  serviceUrl: z.string().max(2000).optional(),
  channelId: z.string().max(100).optional(),
  from: z.looseObject({ id: z.string().max(500), name: z.string().max(500).optional(), aadObjectId: z.string().max(100).optional() }).optional(),
  conversation: z.looseObject({ id: z.string().min(1).max(1000), conversationType: z.string().max(50).optional(), tenantId: z.string().max(100).optional() }).optional(),
  recipient: z.looseObject({ id: z.string().max(500) }).optional(),
  text: z.string().max(40_000).optional(),
  entities: z.array(z.looseObject({ type: z.string().max(100), text: z.string().max(2000).optional(), mentioned: z.looseObject({ id: z.string().max(500) }).optional() })).max(200).optional(),
  channelData: z.looseObject({ tenant: z.looseObject({ id: z.string().max(100) }).optional() }).optional(),
  /** invoke activities: what is invoked (`adaptiveCard/action`) and its payload. */
  name: z.string().max(200).optional(),
  value: z.unknown().optional(),
  replyToId: z.string().max(500).optional(),
});

export type Activity = z.infer<typeof activitySchema>;

/** The actor id of a Teams user in roles and audit: `teams:<Entra object id>`. */
export const teamsUserId = (aadObjectId: string): string => `teams:${aadObjectId}`;

const decodeEntities = (text: string): string => text.replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/**
 * A `message` activity as a ChatMessage, or null when it is not one a person wrote to the bot.
 *
 * Addressing (Teams): in a channel or group chat a bot receives only the messages that @mention it
 * (unless it has resource-specific consent, which Deckhand does not ask for); the mention is in
 * the text as `<at>Name</at>` with a `mention` entity whose `mentioned.id` is the bot's id
 * (`recipient.id`, 28:<app id>). Deckhand strips its own mentions; one at the start addresses the
 * bot, like "@deckhand deploy api" on Slack. In a personal (1:1) chat every message is addressed.
 */
export function toChatMessage(activity: Activity): ChatMessage | null {
  if (activity.type !== 'message' || !activity.id || !activity.conversation || !activity.from?.aadObjectId || typeof activity.text !== 'string') return null;
  const botId = activity.recipient?.id;
  let text = activity.text;
  let addressed = false;
  for (const entity of activity.entities ?? []) {
    if (entity.type !== 'mention' || !entity.text || !botId || entity.mentioned?.id !== botId) continue;
    if (text.trimStart().startsWith(entity.text)) addressed = true;
    text = text.split(entity.text).join(' ');
  }
  text = decodeEntities(text).replace(/\s+/g, ' ').trim();
  const personal = activity.conversation.conversationType === 'personal';
  return {
    id: activity.id,
    user: teamsUserId(activity.from.aadObjectId),
    ...(activity.from.name ? { userName: activity.from.name } : {}),
    room: activity.conversation.id,
    text,
    isDirect: personal || addressed,
    adapter: 'teams',
  };
}

/** Service URLs compare without a trailing slash, host case-insensitively. */
export function sameServiceUrl(a: string, b: string): boolean {
  try {
    const [x, y] = [new URL(a), new URL(b)];
    return x.protocol === y.protocol && x.host.toLowerCase() === y.host.toLowerCase() && x.pathname.replace(/\/+$/, '') === y.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

/**
 * The value of an `adaptiveCard/action` invoke (Universal Actions): the Action.Execute that was
 * clicked, with the verb and data the card gave it. Only Deckhand's own verbs are accepted.
 */
export const cardActionSchema = z.looseObject({
  action: z.looseObject({
    type: z.literal('Action.Execute'),
    verb: z.enum(['approve', 'deny', 'refresh']),
    data: z.looseObject({ deploymentId: z.coerce.number().int().positive() }),
  }),
});

/** The value of an `adaptiveCard/action` invoke from an incident card: Acknowledge / Resolve of one entity's incident. */
export const incidentActionSchema = z.looseObject({
  action: z.looseObject({
    type: z.literal('Action.Execute'),
    verb: z.enum(['incident_ack', 'incident_resolve']),
    data: z.looseObject({ entityId: z.string().min(1).max(500) }),
  }),
});
