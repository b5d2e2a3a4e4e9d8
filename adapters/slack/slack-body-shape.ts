import { z } from 'zod';

/*
 * What a verified Slack request must look like before Bolt sees it. Bolt trusts a signed body:
 * `null` (or `payload=null`) made its HTTPReceiver read `null.ssl_check` outside any try, and the
 * process died; other odd shapes threw inside it (500) or matched no listener and were answered
 * 404 after 3 s. Each rule below is a field Bolt (or one of Deckhand's listeners) reads without a
 * check; the classification follows Bolt's own order (helpers.getTypeAndConversation), so a body
 * is judged as the kind Bolt would treat it as. Fields nobody reads are left alone.
 */

const record = z.looseObject({});
const user = z.looseObject({ id: z.string() });
/** team / enterprise are null in org-wide installs; Bolt reads `.id` only when they are not. */
const nullableRecord = z.union([z.null(), record]).optional();

const urlVerification = z.looseObject({ type: z.literal('url_verification'), challenge: z.string().min(1) });

const eventCallback = z.looseObject({
  type: z.literal('event_callback'),
  event: z.looseObject({
    type: z.string().min(1),
    // Bolt reads event.user.id, event.channel.creator, event.item.channel, event.subteam.created_by.
    user: z.union([z.string(), record]).optional(),
    channel: z.union([z.string(), record]).optional(),
    item: record.optional(),
    subteam: record.optional(),
  }),
  authorizations: z.array(record).optional(),
});

/** The events Deckhand listens to, as far as its listeners read them. */
const conversationEvent = z.looseObject({ channel: z.string(), ts: z.string(), thread_ts: z.string().optional() });
const listenedEvents: Record<string, z.ZodType> = {
  app_mention: conversationEvent.extend({ text: z.string() }),
  message: conversationEvent,
};

const slashCommand = z.looseObject({ command: z.string().min(1), text: z.string(), user_id: z.string(), channel_id: z.string(), trigger_id: z.string() });

/** Interactivity payloads (the JSON in `payload=`): Bolt reads user.id, team.id, channel.id, response_urls[0]. */
const interactive = z.looseObject({
  type: z.string(),
  user,
  team: nullableRecord,
  enterprise: nullableRecord,
  channel: record.optional(),
  response_urls: z.array(z.looseObject({ response_url: z.string() })).optional(),
  // Bolt's listener payload is actions[0]; action_id is matched with a RegExp.
  actions: z.array(z.looseObject({ action_id: z.string().optional() })).min(1).optional(),
});
const interactiveByType: Record<string, z.ZodType> = {
  block_actions: interactive.extend({ actions: z.array(z.looseObject({ action_id: z.string() })).min(1), trigger_id: z.string() }),
  interactive_message: interactive.extend({ actions: z.array(record).min(1) }),
  dialog_submission: interactive,
  block_suggestion: interactive,
  dialog_suggestion: interactive,
  shortcut: interactive,
  message_action: interactive,
  view_submission: interactive.extend({ view: record }),
  view_closed: interactive.extend({ view: record }),
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function check(schema: z.ZodType, body: unknown, what: string): string | null {
  const result = schema.safeParse(body);
  if (result.success) return null;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  return `${what}: ${issues.join('; ')}`;
}

/**
 * Why a verified Slack body cannot be handed to Bolt, or null when it can. `body` is what Bolt's
 * own parser made of the request (the JSON, the form fields, or the JSON in `payload=`).
 */
export function slackBodyProblem(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return `the body is ${describe(body)}, not an object`;
  const b = body as Record<string, unknown>;
  // Bolt answers these two before anything else.
  if (b.ssl_check === '1') return null;
  if (b.type === 'url_verification') return check(urlVerification, b, 'a url_verification body');
  if (b.event !== undefined || b.type === 'event_callback') {
    const problem = check(eventCallback, b, 'an Events API body');
    const type = (b.event as { type?: unknown } | undefined)?.type;
    const listened = typeof type === 'string' && Object.hasOwn(listenedEvents, type) ? listenedEvents[type] : undefined;
    return problem ?? (listened ? check(listened, b.event, `the ${String(type)} event`) : null);
  }
  if (b.command !== undefined) return check(slashCommand, b, 'a slash command');
  if (typeof b.type !== 'string') return 'no "type": neither an Events API body, a slash command nor an interactivity payload';
  if (b.type === 'app_rate_limited') return null;
  const schema = Object.hasOwn(interactiveByType, b.type) ? interactiveByType[b.type] : undefined;
  if (!schema) return `unknown type "${b.type}"`;
  return check(schema, b, `the ${b.type} payload`);
}
