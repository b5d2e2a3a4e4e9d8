/**
 * Builds and signs the HTTP requests Slack sends to an app in HTTP (Events API) mode, so tests can
 * drive a real Bolt HTTPReceiver. The payload builders also serve as Socket Mode envelope payloads:
 * Socket Mode delivers exactly the same objects, just without the HTTP encoding and signature.
 *
 * Encodings (what Bolt's HTTPReceiver expects):
 *  - Events API (event_callback, url_verification): JSON body, content-type application/json.
 *  - Slash commands: form-urlencoded fields.
 *  - Interactions (block_actions, ...): form-urlencoded with a single `payload` field holding JSON.
 * Bolt compares the content-type to 'application/x-www-form-urlencoded' exactly: adding
 * "; charset=utf-8" makes it try to parse the form as JSON.
 */
import { createHmac } from 'node:crypto';
import type { BlockAction, ButtonAction, EnvelopedEvent, SlashCommand, types } from '@slack/bolt';

// Event shapes come from @slack/types, re-exported by Bolt as the `types` namespace.
type AppMentionEvent = types.AppMentionEvent;
type GenericMessageEvent = types.GenericMessageEvent;

export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

export interface SlackRequest {
  body: string;
  contentType: 'application/json' | 'application/x-www-form-urlencoded';
}

/** Workspace identifiers shared by the builders; defaults match startFakeSlack()'s. */
export interface WorkspaceIds {
  teamId?: string;
  apiAppId?: string;
  /** Bot user that `authorizations` names (Bolt uses it to recognise its own messages). */
  botUserId?: string;
}

const DEFAULT_TEAM = 'T0DECKHAND';
const DEFAULT_APP = 'A123';
const DEFAULT_BOT_USER = 'UDECKHAND';

/** Slack's v0 scheme: hex HMAC-SHA256 of "v0:<timestamp>:<raw body>" keyed by the signing secret. */
export function signSlackRequest(
  signingSecret: string,
  body: string,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const digest = createHmac('sha256', signingSecret).update(`v0:${timestampSeconds}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': String(timestampSeconds) };
}

let sequence = 0;
/** Unique ids/timestamps so Bolt never sees two identical events (e.g. `Ev...` ids, trigger ids). */
function nextId(prefix: string): string {
  sequence += 1;
  return `${prefix}${Date.now().toString(36).toUpperCase()}${sequence}`;
}

function eventTs(): string {
  const now = Date.now();
  return `${Math.floor(now / 1000)}.${String((now % 1000) * 1000 + (sequence % 1000)).padStart(6, '0')}`;
}

// ---- payload objects ---------------------------------------------------------------------------

/** Wraps an event in the event_callback envelope Slack sends (and Socket Mode puts in `payload`). */
export function eventCallback<E extends { type: string }>(event: E, ids: WorkspaceIds = {}): EnvelopedEvent<E> {
  const teamId = ids.teamId ?? DEFAULT_TEAM;
  return {
    token: 'legacy-verification-token',
    team_id: teamId,
    api_app_id: ids.apiAppId ?? DEFAULT_APP,
    event,
    type: 'event_callback',
    event_id: nextId('Ev'),
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: teamId, user_id: ids.botUserId ?? DEFAULT_BOT_USER, is_bot: true }],
    is_ext_shared_channel: false,
  };
}

export interface MessageEventOptions extends WorkspaceIds {
  channel: string;
  user: string;
  text: string;
  ts?: string;
  thread_ts?: string;
  channelType?: GenericMessageEvent['channel_type'];
}

/** "@deckhand deploy api" – the text must contain `<@BOTUSERID>` as Slack renders mentions. */
export function appMentionPayload(options: MessageEventOptions): EnvelopedEvent<AppMentionEvent> {
  const ts = options.ts ?? eventTs();
  const event: AppMentionEvent = {
    type: 'app_mention',
    user: options.user,
    text: options.text,
    ts,
    channel: options.channel,
    event_ts: ts,
    ...(options.thread_ts ? { thread_ts: options.thread_ts } : {}),
  };
  return eventCallback(event, options);
}

export function messagePayload(options: MessageEventOptions): EnvelopedEvent<GenericMessageEvent> {
  const ts = options.ts ?? eventTs();
  const event: GenericMessageEvent = {
    type: 'message',
    subtype: undefined,
    user: options.user,
    text: options.text,
    ts,
    channel: options.channel,
    event_ts: ts,
    // Slack infers this from the channel id prefix: D = im, G = group (private), C = channel.
    channel_type: options.channelType ?? (options.channel.startsWith('D') ? 'im' : options.channel.startsWith('G') ? 'group' : 'channel'),
    ...(options.thread_ts ? { thread_ts: options.thread_ts } : {}),
  };
  return eventCallback(event, options);
}

export interface SlashCommandOptions extends WorkspaceIds {
  command: string;
  text: string;
  userId: string;
  userName?: string;
  channelId: string;
  channelName?: string;
  responseUrl?: string;
}

export function slashCommandPayload(options: SlashCommandOptions): SlashCommand {
  return {
    token: 'legacy-verification-token',
    command: options.command,
    text: options.text,
    user_id: options.userId,
    user_name: options.userName ?? options.userId.toLowerCase(),
    channel_id: options.channelId,
    channel_name: options.channelName ?? options.channelId.toLowerCase(),
    team_id: options.teamId ?? DEFAULT_TEAM,
    team_domain: 'deckhand-test',
    api_app_id: options.apiAppId ?? DEFAULT_APP,
    response_url: options.responseUrl ?? 'https://hooks.slack.com/commands/T0DECKHAND/1/fake',
    trigger_id: nextId('trigger.'),
  };
}

export interface BlockActionOptions extends WorkspaceIds {
  userId: string;
  userName?: string;
  channelId: string;
  /** The message carrying the button (usually one the bot posted; its ts identifies it). */
  message: { ts: string; text?: string; blocks?: unknown[] };
  actions: Array<{ action_id: string; block_id: string; value?: string; text?: string }>;
  responseUrl?: string;
}

export function blockActionsPayload(options: BlockActionOptions): BlockAction<ButtonAction> {
  const teamId = options.teamId ?? DEFAULT_TEAM;
  const actionTs = eventTs();
  return {
    type: 'block_actions',
    team: { id: teamId, domain: 'deckhand-test' },
    user: { id: options.userId, username: options.userName ?? options.userId.toLowerCase(), team_id: teamId },
    api_app_id: options.apiAppId ?? DEFAULT_APP,
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: options.message.ts, channel_id: options.channelId, is_ephemeral: false },
    trigger_id: nextId('trigger.'),
    channel: { id: options.channelId, name: options.channelId.toLowerCase() },
    message: {
      type: 'message',
      ts: options.message.ts,
      text: options.message.text ?? '',
      blocks: options.message.blocks ?? [],
      user: options.botUserId ?? DEFAULT_BOT_USER,
    },
    response_url: options.responseUrl ?? 'https://hooks.slack.com/actions/T0DECKHAND/1/fake',
    actions: options.actions.map((a) => ({
      type: 'button',
      action_id: a.action_id,
      block_id: a.block_id,
      ...(a.value !== undefined ? { value: a.value } : {}),
      text: { type: 'plain_text', text: a.text ?? a.action_id },
      action_ts: actionTs,
    })),
  };
}

// ---- HTTP request bodies -----------------------------------------------------------------------

export function eventCallbackRequest(envelope: EnvelopedEvent<{ type: string }>): SlackRequest {
  return { body: JSON.stringify(envelope), contentType: 'application/json' };
}

export function appMentionRequest(options: MessageEventOptions): SlackRequest {
  return eventCallbackRequest(appMentionPayload(options));
}

export function messageRequest(options: MessageEventOptions): SlackRequest {
  return eventCallbackRequest(messagePayload(options));
}

export function slashCommandRequest(options: SlashCommandOptions): SlackRequest {
  const fields = Object.entries(slashCommandPayload(options)).filter((e): e is [string, string] => typeof e[1] === 'string');
  return { body: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' };
}

export function blockActionsRequest(options: BlockActionOptions): SlackRequest {
  const body = new URLSearchParams({ payload: JSON.stringify(blockActionsPayload(options)) }).toString();
  return { body, contentType: 'application/x-www-form-urlencoded' };
}

/** Sent once when the Request URL is configured; the app must echo `challenge`. */
export function urlVerificationRequest(challenge = 'fake-challenge-token'): SlackRequest {
  const body = JSON.stringify({ token: 'legacy-verification-token', challenge, type: 'url_verification' });
  return { body, contentType: 'application/json' };
}

export interface BoltResponse {
  status: number;
  text: string;
  headers: Headers;
}

/**
 * Signs and POSTs a request to a Bolt HTTP endpoint (e.g. http://127.0.0.1:3000/slack/events).
 * `extraHeaders` can add Slack's retry headers (x-slack-retry-num / x-slack-retry-reason) or
 * override the signature headers to test rejection.
 */
export async function postToBolt(
  url: string,
  signingSecret: string,
  request: SlackRequest,
  extraHeaders: Record<string, string> = {},
): Promise<BoltResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': request.contentType, ...signSlackRequest(signingSecret, request.body), ...extraHeaders },
    body: request.body,
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}
