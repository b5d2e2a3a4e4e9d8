/**
 * Handlers for the Slack Web API methods the fake implements. Each takes the decoded
 * request arguments and returns the JSON body Slack would answer with (always HTTP 200;
 * failures are `{ ok: false, error }`). Transport concerns (auth, failure injection,
 * rate limits) live in fake-slack.ts.
 */
import type { FakeChannel, MessageStore, StoredMessage } from './message-store.js';

export interface Workspace {
  botToken: string;
  appToken: string;
  botUserId: string;
  botId: string;
  teamId: string;
  appId: string;
}

export interface MethodContext {
  store: MessageStore;
  workspace: Workspace;
  /** Issues a one-time Socket Mode URL (apps.connections.open). */
  openSocketUrl: () => string;
}

export type SlackResponse = { ok: boolean } & Record<string, unknown>;
type Handler = (args: Record<string, unknown>, ctx: MethodContext) => SlackResponse;

/** Which kind of token a method accepts; Slack answers `not_allowed_token_type` to the other kind. */
export function tokenKindFor(method: string): 'bot' | 'app' {
  return method === 'apps.connections.open' ? 'app' : 'bot';
}

// Slack limits (https://docs.slack.dev/reference/methods/chat.postMessage): 50 blocks, 40k chars of text.
const MAX_BLOCKS = 50;
const MAX_TEXT = 40_000;

const fail = (error: string, extra: Record<string, unknown> = {}): SlackResponse => ({ ok: false, error, ...extra });

/** Form bodies carry everything as strings; JSON bodies may carry numbers. */
function str(args: Record<string, unknown>, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Reads the message content arguments shared by postMessage / postEphemeral / update. */
function content(args: Record<string, unknown>): { text?: string; blocks?: unknown[]; attachments?: unknown[]; error?: string } {
  const text = str(args, 'text');
  const { blocks, attachments } = args;
  if (blocks !== undefined && !Array.isArray(blocks)) return { error: 'invalid_blocks' };
  if (attachments !== undefined && !Array.isArray(attachments)) return { error: 'invalid_attachments' };
  if (Array.isArray(blocks) && blocks.length > MAX_BLOCKS) return { error: 'invalid_blocks' };
  const hasContent = (text !== undefined && text !== '') || (blocks?.length ?? 0) > 0 || (attachments?.length ?? 0) > 0;
  if (!hasContent) return { error: 'no_text' };
  if (text !== undefined && text.length > MAX_TEXT) return { error: 'msg_too_long' };
  return { text, blocks: blocks as unknown[] | undefined, attachments: attachments as unknown[] | undefined };
}

/**
 * Slack accepts a channel id, a "#name", or a user id (which means "the DM between the app and that user").
 */
function resolveChannel(raw: string | undefined, ctx: MethodContext): FakeChannel | undefined {
  if (!raw) return undefined;
  if (raw.startsWith('#')) return ctx.store.channelByName(raw.slice(1));
  if (/^[UW]/.test(raw)) return openIm(raw, ctx);
  return ctx.store.channel(raw);
}

function openIm(userId: string, ctx: MethodContext): FakeChannel {
  const id = `D${userId.slice(1)}`;
  const channel: FakeChannel = { id, name: id, isPrivate: true, isIm: true, isMember: true, user: userId };
  ctx.store.setChannel(channel);
  return channel;
}

/** The message object Slack echoes back in chat.postMessage / chat.update responses. */
function toSlackMessage(m: StoredMessage, ctx: MethodContext): Record<string, unknown> {
  const isBot = m.bot_id !== undefined;
  return {
    type: 'message',
    ts: m.ts,
    text: m.text ?? '',
    user: m.user,
    team: ctx.workspace.teamId,
    ...(isBot ? { bot_id: m.bot_id, app_id: ctx.workspace.appId } : {}),
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.attachments ? { attachments: m.attachments } : {}),
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
    ...(m.reactions.length > 0 ? { reactions: m.reactions } : {}),
  };
}

/** chat.postMessage echoes the metadata it stored (not confirmed for Slack; harmless for clients). */
function postedMessage(m: StoredMessage, ctx: MethodContext): Record<string, unknown> {
  return { ...toSlackMessage(m, ctx), ...(m.metadata ? { metadata: m.metadata } : {}) };
}

/**
 * chat.postMessage's `metadata`: `{ event_type, event_payload }` (docs.slack.dev/messaging/message-metadata),
 * a JSON string in a form body. Undefined when none was sent; 'invalid' when it is not that shape. The
 * error name Slack gives for a malformed one (`invalid_metadata_format`) is not confirmed.
 */
function messageMetadata(raw: unknown): StoredMessage['metadata'] | 'invalid' | undefined {
  if (raw === undefined || raw === '') return undefined;
  const m = raw as { event_type?: unknown; event_payload?: unknown } | null;
  if (typeof m !== 'object' || m === null || typeof m.event_type !== 'string' || m.event_type === '') return 'invalid';
  if (typeof m.event_payload !== 'object' || m.event_payload === null || Array.isArray(m.event_payload)) return 'invalid';
  return { event_type: m.event_type, event_payload: m.event_payload as Record<string, unknown> };
}

/** A message as conversations.history / conversations.replies list it; metadata only when asked for (include_all_metadata). */
function historyMessage(m: StoredMessage, ctx: MethodContext, withMetadata: boolean): Record<string, unknown> {
  return {
    ...toSlackMessage(m, ctx),
    ...(m.replies.length > 0 ? { reply_count: m.replies.length, latest_reply: m.replies.at(-1)?.ts } : {}),
    ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
  };
}

/** Slack's boolean arguments: true, "true" or "1". */
const flag = (value: unknown) => value === true || value === 'true' || value === '1' || value === 1;

/**
 * One page of a ts-ordered list, the way conversations.history pages (docs.slack.dev/reference/methods/conversations.history):
 * newest first, between `oldest` and `latest` (both exclusive unless `inclusive`; latest defaults to
 * now), `limit` (default 100, at most 999) a page, `cursor` the opaque next_cursor of the page
 * before. Whether Slack caps `limit` lower for some apps is not modelled.
 */
function timelinePage(all: StoredMessage[], args: Record<string, unknown>, newestFirst: boolean): { page: StoredMessage[]; next: string | null } | { error: string } {
  const oldest = str(args, 'oldest');
  const latest = str(args, 'latest');
  const inclusive = flag(args.inclusive);
  const limitRaw = str(args, 'limit');
  const limit = limitRaw === undefined ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 0) return { error: 'invalid_limit' };
  const pageSize = Math.min(limit === 0 ? 100 : limit, 999);
  const cursor = str(args, 'cursor');
  let offset = 0;
  if (cursor) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
    if (!decoded) return { error: 'invalid_cursor' };
    offset = Number(decoded[1]);
  }
  const after = (ts: string) => (oldest === undefined ? true : inclusive ? Number(ts) >= Number(oldest) : Number(ts) > Number(oldest));
  const before = (ts: string) => (latest === undefined ? true : inclusive ? Number(ts) <= Number(latest) : Number(ts) < Number(latest));
  const inRange = all.filter((m) => after(m.ts) && before(m.ts)).sort((x, y) => Number(x.ts) - Number(y.ts));
  if (newestFirst) inRange.reverse();
  const page = inRange.slice(offset, offset + pageSize);
  const nextOffset = offset + page.length;
  return { page, next: nextOffset < inRange.length ? Buffer.from(`offset:${nextOffset}`).toString('base64') : null };
}

/** Reading a conversation needs the bot in it (not_in_channel otherwise; public channels too, for a bot token). */
function readable(args: Record<string, unknown>, ctx: MethodContext): FakeChannel | SlackResponse {
  const raw = str(args, 'channel');
  // History takes a conversation id, not a #name.
  const channel = raw && !raw.startsWith('#') ? resolveChannel(raw, ctx) : undefined;
  if (!channel) return fail('channel_not_found');
  if (!channel.isMember) return fail('not_in_channel');
  return channel;
}

const conversationsHistory: Handler = (args, ctx) => {
  const channel = readable(args, ctx);
  if ('ok' in channel) return channel;
  const result = timelinePage(ctx.store.topLevel(channel.id), args, true);
  if ('error' in result) return fail(result.error);
  const withMetadata = flag(args.include_all_metadata);
  return {
    ok: true,
    messages: result.page.map((m) => historyMessage(m, ctx, withMetadata)),
    has_more: result.next !== null,
    pin_count: 0,
    response_metadata: { next_cursor: result.next ?? '' },
  };
};

/** A thread: its parent first, then the replies, oldest first (the parent is listed whatever the bounds). */
const conversationsReplies: Handler = (args, ctx) => {
  const channel = readable(args, ctx);
  if ('ok' in channel) return channel;
  const ts = str(args, 'ts');
  const parent = ts ? ctx.store.find(channel.id, ts) : undefined;
  if (!ts || !parent) return fail('thread_not_found');
  const root = parent.thread_ts && parent.thread_ts !== parent.ts ? (ctx.store.find(channel.id, parent.thread_ts) ?? parent) : parent;
  const result = timelinePage(root.replies, args, false);
  if ('error' in result) return fail(result.error);
  const withMetadata = flag(args.include_all_metadata);
  const first = str(args, 'cursor') ? [] : [root];
  return {
    ok: true,
    messages: [...first, ...result.page].map((m) => historyMessage(m, ctx, withMetadata)),
    has_more: result.next !== null,
    response_metadata: { next_cursor: result.next ?? '' },
  };
};

function channelInfo(c: FakeChannel): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    is_channel: !c.isIm && !c.isPrivate,
    is_group: !c.isIm && c.isPrivate,
    is_im: c.isIm,
    is_private: c.isPrivate,
    is_archived: false,
    is_member: c.isMember,
    created: 1_600_000_000,
    ...(c.user ? { user: c.user } : {}),
  };
}

const postMessage: Handler = (args, ctx) => {
  const channel = resolveChannel(str(args, 'channel'), ctx);
  if (!channel) return fail('channel_not_found');
  if (!channel.isMember) return fail('not_in_channel');
  const body = content(args);
  if (body.error) return fail(body.error);

  // A thread_ts naming a reply is normalised to that reply's root. A thread_ts naming no
  // message at all is not an error on Slack: the message is posted top-level instead.
  let threadTs: string | undefined;
  const requested = str(args, 'thread_ts');
  if (requested) {
    const parent = ctx.store.find(channel.id, requested);
    threadTs = parent ? (parent.thread_ts ?? parent.ts) : undefined;
  }

  const metadata = messageMetadata(args.metadata);
  if (metadata === 'invalid') return fail('invalid_metadata_format');

  const stored = ctx.store.add({
    channel: channel.id,
    ts: ctx.store.nextTs(),
    ...(threadTs ? { thread_ts: threadTs } : {}),
    text: body.text,
    blocks: body.blocks,
    attachments: body.attachments,
    user: ctx.workspace.botUserId,
    bot_id: ctx.workspace.botId,
    reactions: [],
    replies: [],
    edits: [],
    raw: args,
    ...(metadata ? { metadata } : {}),
  });
  return { ok: true, channel: channel.id, ts: stored.ts, message: postedMessage(stored, ctx) };
};

const update: Handler = (args, ctx) => {
  const channel = str(args, 'channel');
  const ts = str(args, 'ts');
  const message = channel && ts ? ctx.store.find(channel, ts) : undefined;
  if (!channel || !ts || !message) return fail('message_not_found');
  // Bot tokens can only edit the bot's own messages.
  if (message.bot_id !== ctx.workspace.botId) return fail('cant_update_message');
  const body = content(args);
  if (body.error) return fail(body.error);
  message.edits.push({ text: message.text, blocks: message.blocks, at: Date.now() });
  // Fields left out of chat.update keep their previous value.
  if (body.text !== undefined) message.text = body.text;
  if (body.blocks !== undefined) message.blocks = body.blocks;
  if (body.attachments !== undefined) message.attachments = body.attachments;
  return { ok: true, channel, ts, text: message.text ?? '', message: toSlackMessage(message, ctx) };
};

const remove: Handler = (args, ctx) => {
  const channel = str(args, 'channel');
  const ts = str(args, 'ts');
  const message = channel && ts ? ctx.store.find(channel, ts) : undefined;
  if (!channel || !ts || !message) return fail('message_not_found');
  if (message.bot_id !== ctx.workspace.botId) return fail('cant_delete_message');
  ctx.store.remove(channel, ts);
  return { ok: true, channel, ts };
};

const postEphemeral: Handler = (args, ctx) => {
  const channel = resolveChannel(str(args, 'channel'), ctx);
  if (!channel) return fail('channel_not_found');
  const user = str(args, 'user');
  if (!user || !ctx.store.user(user)) return fail('user_not_in_channel');
  const body = content(args);
  if (body.error) return fail(body.error);
  // Ephemeral messages get a ts but are never part of channel history.
  const messageTs = ctx.store.nextTs();
  const threadTs = str(args, 'thread_ts');
  ctx.store.addEphemeral({
    channel: channel.id,
    user,
    message_ts: messageTs,
    ...(threadTs ? { thread_ts: threadTs } : {}),
    text: body.text,
    blocks: body.blocks,
  });
  return { ok: true, message_ts: messageTs };
};

/** Looks up the reaction target; Slack wants `channel` + `timestamp` (not `ts`) here. */
function reactionTarget(args: Record<string, unknown>, ctx: MethodContext) {
  const channel = str(args, 'channel');
  const timestamp = str(args, 'timestamp');
  const name = str(args, 'name');
  if (!channel || !timestamp) return { error: 'no_item_specified' };
  // Emoji names are bare ("rocket"), never ":rocket:".
  if (!name || /[:\s]/.test(name)) return { error: 'invalid_name' };
  const message = ctx.store.find(channel, timestamp);
  if (!message) return { error: 'message_not_found' };
  return { message, name };
}

const reactionsAdd: Handler = (args, ctx) => {
  const target = reactionTarget(args, ctx);
  if (!target.message) return fail(target.error ?? 'message_not_found');
  const { message, name } = target;
  const me = ctx.workspace.botUserId;
  const existing = message.reactions.find((r) => r.name === name);
  if (existing?.users.includes(me)) return fail('already_reacted');
  if (existing) {
    existing.users.push(me);
    existing.count = existing.users.length;
  } else {
    message.reactions.push({ name, users: [me], count: 1 });
  }
  return { ok: true };
};

const reactionsRemove: Handler = (args, ctx) => {
  const target = reactionTarget(args, ctx);
  if (!target.message) return fail(target.error ?? 'message_not_found');
  const { message, name } = target;
  const me = ctx.workspace.botUserId;
  const existing = message.reactions.find((r) => r.name === name);
  if (!existing?.users.includes(me)) return fail('no_reaction');
  existing.users = existing.users.filter((u) => u !== me);
  existing.count = existing.users.length;
  if (existing.count === 0) message.reactions = message.reactions.filter((r) => r !== existing);
  return { ok: true };
};

const conversationsInfo: Handler = (args, ctx) => {
  const channel = resolveChannel(str(args, 'channel'), ctx);
  if (!channel) return fail('channel_not_found');
  return { ok: true, channel: channelInfo(channel) };
};

const conversationsJoin: Handler = (args, ctx) => {
  const channel = resolveChannel(str(args, 'channel'), ctx);
  if (!channel) return fail('channel_not_found');
  if (channel.isIm) return fail('method_not_supported_for_channel_type');
  const alreadyIn = channel.isMember;
  channel.isMember = true;
  return { ok: true, channel: channelInfo(channel), ...(alreadyIn ? { warning: 'already_in_channel' } : {}) };
};

const conversationsOpen: Handler = (args, ctx) => {
  const existing = str(args, 'channel');
  if (existing) return { ok: true, no_op: true, already_open: true, channel: { id: existing } };
  const users = (str(args, 'users') ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  const [first] = users;
  if (!first) return fail('users_list_not_supplied');
  if (users.some((u) => !ctx.store.user(u))) return fail('user_not_found');
  if (users.length > 1) {
    const id = `G${users.map((u) => u.slice(1)).join('')}`;
    ctx.store.setChannel({ id, name: `mpdm-${users.join('--')}`, isPrivate: true, isIm: false, isMember: true });
    return { ok: true, channel: { id } };
  }
  return { ok: true, channel: { id: openIm(first, ctx).id } };
};

const usersInfo: Handler = (args, ctx) => {
  const id = str(args, 'user');
  const user = id ? ctx.store.user(id) : undefined;
  if (!user) return fail('user_not_found');
  return {
    ok: true,
    user: {
      id: user.id,
      team_id: ctx.workspace.teamId,
      name: user.name,
      real_name: user.real_name,
      deleted: false,
      is_bot: user.is_bot,
      tz: user.tz,
      tz_label: user.tz,
      tz_offset: 0,
      profile: { real_name: user.real_name, display_name: user.display_name, team: ctx.workspace.teamId },
    },
  };
};

const authTest: Handler = (_args, ctx) => ({
  ok: true,
  url: 'https://deckhand-test.slack.com/',
  team: 'Deckhand Test',
  user: 'deckhand',
  team_id: ctx.workspace.teamId,
  user_id: ctx.workspace.botUserId,
  bot_id: ctx.workspace.botId,
  app_id: ctx.workspace.appId,
  is_enterprise_install: false,
});

const connectionsOpen: Handler = (_args, ctx) => ({ ok: true, url: ctx.openSocketUrl() });

export const methods: Readonly<Record<string, Handler>> = {
  'auth.test': authTest,
  'chat.postMessage': postMessage,
  'chat.update': update,
  'chat.delete': remove,
  'chat.postEphemeral': postEphemeral,
  'reactions.add': reactionsAdd,
  'reactions.remove': reactionsRemove,
  'conversations.info': conversationsInfo,
  'conversations.history': conversationsHistory,
  'conversations.replies': conversationsReplies,
  'conversations.join': conversationsJoin,
  'conversations.open': conversationsOpen,
  'users.info': usersInfo,
  'apps.connections.open': connectionsOpen,
};
