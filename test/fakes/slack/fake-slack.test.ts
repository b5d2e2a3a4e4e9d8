import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, verifySlackRequest } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';
import {
  appMentionPayload,
  appMentionRequest,
  blockActionsRequest,
  postToBolt,
  signSlackRequest,
  slashCommandPayload,
  slashCommandRequest,
  urlVerificationRequest,
} from './signed-request.js';

let fake: FakeSlack;
let client: WebClient;

/** A WebClient as the adapter would build it, but failing fast instead of retrying for minutes. */
function webClient(token: string | undefined, options: WebClientOptions = {}): WebClient {
  return new WebClient(token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR, ...options });
}

/** Runs a call that must fail and returns the thrown error, typed loosely for assertions. */
async function failure(call: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await call;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

beforeEach(async () => {
  fake = await startFakeSlack();
  client = webClient(fake.workspace.botToken);
});

afterEach(async () => {
  await fake.close();
});

describe('Web API basics', () => {
  test('auth.test identifies the bot and the call is recorded with its bearer token', async () => {
    const result = await client.auth.test();
    expect(result).toMatchObject({ ok: true, user_id: 'UDECKHAND', user: 'deckhand', team_id: 'T0DECKHAND', bot_id: 'BDECKHAND' });
    expect(fake.callsTo('auth.test')).toEqual([expect.objectContaining({ token: 'xoxb-fake-bot-token', body: {} })]);
  });

  test('options override the identity', async () => {
    const custom = await startFakeSlack({ botToken: 'xoxb-1', botUserId: 'UBOT', teamId: 'T9' });
    try {
      const result = await new WebClient('xoxb-1', { slackApiUrl: custom.apiUrl, retryConfig: { retries: 0 } }).auth.test();
      expect(result).toMatchObject({ user_id: 'UBOT', team_id: 'T9' });
    } finally {
      await custom.close();
    }
  });

  test('a wrong token gets invalid_auth, a missing one not_authed, an app token not_allowed_token_type', async () => {
    const wrong = await failure(webClient('xoxb-wrong').chat.postMessage({ channel: 'C1', text: 'hi' }));
    expect(wrong).toMatchObject({ code: ErrorCode.PlatformError, data: expect.objectContaining({ ok: false, error: 'invalid_auth' }) });
    const missing = await failure(webClient(undefined).auth.test());
    expect(missing).toMatchObject({ data: expect.objectContaining({ error: 'not_authed' }) });
    const appToken = await failure(webClient(fake.workspace.appToken).chat.postMessage({ channel: 'C1', text: 'hi' }));
    expect(appToken).toMatchObject({ data: expect.objectContaining({ error: 'not_allowed_token_type' }) });
    expect(fake.calls.map((c) => c.token)).toEqual(['xoxb-wrong', null, 'xapp-1-fake-app-token']);
    expect(fake.messages('C1')).toEqual([]);
  });

  test('unknown methods answer unknown_method', async () => {
    const error = await failure(client.apiCall('deploys.launch', { app: 'api' }));
    expect(error).toMatchObject({ data: expect.objectContaining({ error: 'unknown_method' }) });
    expect(fake.callsTo('deploys.launch')[0]?.body).toEqual({ app: 'api' });
  });

  test('application/json bodies are accepted too', async () => {
    const response = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.workspace.botToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C1', text: 'json', blocks: [{ type: 'divider' }] }),
    });
    expect(await response.json()).toMatchObject({ ok: true, channel: 'C1' });
    expect(fake.messages('C1')[0]).toMatchObject({ text: 'json', blocks: [{ type: 'divider' }] });
  });
});

describe('messages', () => {
  const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*deploying* api' } }];

  test('chat.postMessage stores the message, hands out increasing ts and decodes JSON blocks', async () => {
    const first = await client.chat.postMessage({ channel: 'C1', text: 'deploying api', blocks });
    const second = await client.chat.postMessage({ channel: 'C1', text: 'done' });
    expect(first).toMatchObject({ ok: true, channel: 'C1' });
    // As on Slack, a ts is the time of posting: seconds and microseconds.
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Math.abs(Number(first.ts) * 1000 - Date.now())).toBeLessThan(5000);
    expect(first.message).toMatchObject({ text: 'deploying api', user: 'UDECKHAND', bot_id: 'BDECKHAND', blocks });
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    // WebClient sends blocks as a JSON string inside the form body; the fake decodes it.
    expect(fake.callsTo('chat.postMessage')[0]?.body.blocks).toEqual(blocks);
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['deploying api', 'done']);
    expect(fake.message('C1', first.ts!)).toMatchObject({ blocks, bot_id: 'BDECKHAND', reactions: [], replies: [], edits: [] });
  });

  test('chat.postMessage validates its arguments like Slack', async () => {
    expect(await failure(client.chat.postMessage({ channel: 'C1', text: '' }))).toMatchObject({ data: expect.objectContaining({ error: 'no_text' }) });
    expect(await failure(client.chat.postMessage({ channel: '', text: 'x' }))).toMatchObject({ data: expect.objectContaining({ error: 'channel_not_found' }) });
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' as const }));
    expect(await failure(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: tooMany }))).toMatchObject({
      data: expect.objectContaining({ error: 'invalid_blocks' }),
    });
  });

  test('threaded replies are stored with their root, even when replying to a reply', async () => {
    const parent = await client.chat.postMessage({ channel: 'C1', text: 'deploy #42 started' });
    const reply = await client.chat.postMessage({ channel: 'C1', text: 'step 1 ok', thread_ts: parent.ts! });
    await client.chat.postMessage({ channel: 'C1', text: 'step 2 ok', thread_ts: reply.ts! });
    expect(reply.message).toMatchObject({ thread_ts: parent.ts });
    const [root, ...others] = fake.messages('C1');
    expect(others).toEqual([]);
    expect(root).toMatchObject({ ts: parent.ts, thread_ts: parent.ts });
    expect(root?.replies.map((r) => [r.text, r.thread_ts])).toEqual([
      ['step 1 ok', parent.ts],
      ['step 2 ok', parent.ts],
    ]);
    expect(fake.message('C1', reply.ts!)?.text).toBe('step 1 ok');
  });

  test('a thread_ts that names no message posts top-level, as Slack does', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'orphan', thread_ts: '1600000000.000001' });
    expect(fake.messages('C1')).toEqual([expect.objectContaining({ text: 'orphan', replies: [] })]);
    expect(fake.messages('C1')[0]?.thread_ts).toBeUndefined();
  });

  test('chat.update replaces content and keeps the edit history', async () => {
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'deploying', blocks });
    const updated = await client.chat.update({ channel: 'C1', ts: posted.ts!, text: 'deployed' });
    expect(updated).toMatchObject({ ok: true, channel: 'C1', ts: posted.ts, text: 'deployed' });
    const stored = fake.message('C1', posted.ts!);
    expect(stored).toMatchObject({ text: 'deployed', blocks }); // omitted fields are kept
    expect(stored?.edits).toEqual([{ text: 'deploying', blocks, at: expect.any(Number) }]);

    expect(await failure(client.chat.update({ channel: 'C1', ts: '1.000000', text: 'x' }))).toMatchObject({
      data: expect.objectContaining({ error: 'message_not_found' }),
    });
    const human = fake.addUserMessage('C1', { user: 'U1', text: 'deploy api' });
    expect(await failure(client.chat.update({ channel: 'C1', ts: human, text: 'x' }))).toMatchObject({
      data: expect.objectContaining({ error: 'cant_update_message' }),
    });
  });

  test('chat.delete removes the bot message; chat.postEphemeral is recorded apart from history', async () => {
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'oops' });
    expect(await client.chat.delete({ channel: 'C1', ts: posted.ts! })).toMatchObject({ ok: true, ts: posted.ts });
    expect(fake.messages('C1')).toEqual([]);

    const ephemeral = await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you can see this' });
    expect(ephemeral.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.ephemeralMessages('C1')).toEqual([expect.objectContaining({ user: 'U1', text: 'only you can see this' })]);
    expect(fake.messages('C1')).toEqual([]);
  });
});

describe('reactions', () => {
  test('the bot can react to a user message once; a second identical reaction is already_reacted', async () => {
    const ts = fake.addUserMessage('C1', { user: 'U1', text: '@deckhand deploy api' });
    await client.reactions.add({ channel: 'C1', timestamp: ts, name: 'eyes' });
    expect(await failure(client.reactions.add({ channel: 'C1', timestamp: ts, name: 'eyes' }))).toMatchObject({
      data: expect.objectContaining({ error: 'already_reacted' }),
    });
    await client.reactions.add({ channel: 'C1', timestamp: ts, name: 'rocket' });
    expect(fake.message('C1', ts)?.reactions).toEqual([
      { name: 'eyes', users: ['UDECKHAND'], count: 1 },
      { name: 'rocket', users: ['UDECKHAND'], count: 1 },
    ]);

    await client.reactions.remove({ channel: 'C1', timestamp: ts, name: 'eyes' });
    expect(fake.message('C1', ts)?.reactions.map((r) => r.name)).toEqual(['rocket']);
    expect(await failure(client.reactions.remove({ channel: 'C1', timestamp: ts, name: 'eyes' }))).toMatchObject({
      data: expect.objectContaining({ error: 'no_reaction' }),
    });
  });

  test('unknown messages and colon-wrapped names are rejected', async () => {
    expect(await failure(client.reactions.add({ channel: 'C1', timestamp: '1.000001', name: 'eyes' }))).toMatchObject({
      data: expect.objectContaining({ error: 'message_not_found' }),
    });
    const ts = fake.addUserMessage('C1', { user: 'U1', text: 'hi' });
    expect(await failure(client.reactions.add({ channel: 'C1', timestamp: ts, name: ':eyes:' }))).toMatchObject({
      data: expect.objectContaining({ error: 'invalid_name' }),
    });
  });
});

describe('conversations and users', () => {
  test('users.info returns a profile; registered users keep their details', async () => {
    fake.addUser({ id: 'U1', name: 'ada', real_name: 'Ada Lovelace', display_name: 'ada.l', tz: 'Europe/London' });
    const { user } = await client.users.info({ user: 'U1' });
    expect(user).toMatchObject({ id: 'U1', name: 'ada', real_name: 'Ada Lovelace', tz: 'Europe/London', profile: { display_name: 'ada.l' } });
    const synthesized = await client.users.info({ user: 'U2' });
    expect(synthesized.user).toMatchObject({ id: 'U2', profile: { display_name: expect.any(String) }, tz: 'UTC' });
    expect(await failure(client.users.info({ user: 'nobody' }))).toMatchObject({ data: expect.objectContaining({ error: 'user_not_found' }) });
  });

  test('conversations.open gives a DM channel the bot can post to', async () => {
    const opened = await client.conversations.open({ users: 'U1' });
    expect(opened.channel?.id).toMatch(/^D/);
    await client.chat.postMessage({ channel: opened.channel!.id!, text: 'psst' });
    expect(fake.messages(opened.channel!.id!)).toHaveLength(1);
  });

  test('not_in_channel until conversations.join; conversations.info reports membership', async () => {
    fake.addChannel('C9', { name: 'deploys', isMember: false });
    expect(await failure(client.chat.postMessage({ channel: 'C9', text: 'hi' }))).toMatchObject({
      data: expect.objectContaining({ error: 'not_in_channel' }),
    });
    expect((await client.conversations.info({ channel: 'C9' })).channel).toMatchObject({ name: 'deploys', is_member: false });
    await client.conversations.join({ channel: 'C9' });
    await client.chat.postMessage({ channel: '#deploys', text: 'hi' });
    expect(fake.messages('C9').map((m) => m.text)).toEqual(['hi']);
  });
});

describe('failure injection', () => {
  test('a 429 carries Retry-After; with rejectRateLimitedCalls the client throws rate_limited with retryAfter', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
    const strict = webClient(fake.workspace.botToken, { rejectRateLimitedCalls: true });
    const error = await failure(strict.chat.postMessage({ channel: 'C1', text: 'hi' }));
    expect(error).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(fake.callsTo('chat.postMessage')[0]?.response).toEqual({ status: 429, body: { ok: false, error: 'ratelimited' } });
    // The failure was used up: the next call goes through.
    await strict.chat.postMessage({ channel: 'C1', text: 'hi' });
  });

  test('without rejectRateLimitedCalls the client sleeps Retry-After seconds and retries', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const patient = webClient(fake.workspace.botToken, { retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } });
    const started = Date.now();
    await patient.chat.postMessage({ channel: 'C1', text: 'eventually' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.callsTo('chat.postMessage').map((c) => c.response?.status)).toEqual([429, 200]);
  });

  test('HTTP 500 surfaces as an HTTP error; injected Slack errors as platform errors, `times` of them', async () => {
    fake.failNext('chat.update', { status: 500 });
    expect(await failure(client.chat.update({ channel: 'C1', ts: '1.1', text: 'x' }))).toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });

    fake.failNext('conversations.info', { error: 'channel_not_found' }, 2);
    for (let i = 0; i < 2; i++) {
      expect(await failure(client.conversations.info({ channel: 'C1' }))).toMatchObject({
        code: ErrorCode.PlatformError,
        data: expect.objectContaining({ error: 'channel_not_found' }),
      });
    }
    await client.conversations.info({ channel: 'C1' });
  });

  test('a dropped connection is a request error', async () => {
    fake.failNext('auth.test', { drop: true });
    expect(await failure(client.auth.test())).toMatchObject({ code: ErrorCode.RequestError });
  });

  test('rateLimit answers 429 per channel once the per-second budget is spent', async () => {
    fake.rateLimit('chat.postMessage', { perSecondPerChannel: 1, retryAfter: 2 });
    const strict = webClient(fake.workspace.botToken, { rejectRateLimitedCalls: true });
    await strict.chat.postMessage({ channel: 'C1', text: 'one' });
    expect(await failure(strict.chat.postMessage({ channel: 'C1', text: 'two' }))).toMatchObject({ retryAfter: 2 });
    await strict.chat.postMessage({ channel: 'C2', text: 'other channel' });
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['one']);
    fake.rateLimit('chat.postMessage', null);
    await strict.chat.postMessage({ channel: 'C1', text: 'three' });
  });

  test('delay() slows answers; the WebClient `timeout` option turns that into a request error', async () => {
    fake.delay('chat.postMessage', 300);
    const hasty = webClient(fake.workspace.botToken, { timeout: 50 });
    expect(await failure(hasty.chat.postMessage({ channel: 'C1', text: 'slow' }))).toMatchObject({ code: ErrorCode.RequestError });
    // The server still processed it: a timed-out post may well have been delivered.
    await fake.waitForCall('chat.postMessage');
    expect(fake.messages('C1')).toHaveLength(1);
  });
});

describe('message metadata and history', () => {
  const step = (runId: string) => ({ event_type: 'deckhand_step', event_payload: { run_id: runId } });

  test('chat.postMessage stores metadata; conversations.history lists it only with include_all_metadata', async () => {
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'hi', metadata: step('r1') });
    expect(fake.messages('C1')[0]?.metadata).toEqual(step('r1'));
    const plain = await client.conversations.history({ channel: 'C1' });
    expect(plain.messages).toEqual([expect.objectContaining({ ts: posted.ts, text: 'hi' })]);
    expect(plain.messages?.[0]).not.toHaveProperty('metadata');
    const withMetadata = await client.conversations.history({ channel: 'C1', include_all_metadata: true });
    expect(withMetadata.messages?.[0]?.metadata).toEqual(step('r1'));
    expect(fake.countByMetadata('deckhand_step', 'run_id')).toEqual(new Map([['r1', 1]]));
    const bad = await failure(client.chat.postMessage({ channel: 'C1', text: 'x', metadata: { event_type: '', event_payload: {} } }));
    expect(bad).toMatchObject({ data: expect.objectContaining({ error: 'invalid_metadata_format' }) });
  });

  test('conversations.history: newest first, oldest / latest exclusive unless inclusive, limit and cursor pages', async () => {
    const ts: string[] = [];
    for (let i = 0; i < 5; i++) ts.push((await client.chat.postMessage({ channel: 'C1', text: `m${i}` })).ts as string);
    const texts = (r: { messages?: Array<{ text?: string }> }) => r.messages?.map((m) => m.text);
    expect(texts(await client.conversations.history({ channel: 'C1' }))).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
    expect(texts(await client.conversations.history({ channel: 'C1', oldest: ts[1], latest: ts[4] }))).toEqual(['m3', 'm2']);
    expect(texts(await client.conversations.history({ channel: 'C1', oldest: ts[1], latest: ts[4], inclusive: true }))).toEqual(['m4', 'm3', 'm2', 'm1']);
    const first = await client.conversations.history({ channel: 'C1', limit: 2 });
    expect([texts(first), first.has_more]).toEqual([['m4', 'm3'], true]);
    const second = await client.conversations.history({ channel: 'C1', limit: 2, cursor: first.response_metadata?.next_cursor as string });
    const third = await client.conversations.history({ channel: 'C1', limit: 2, cursor: second.response_metadata?.next_cursor as string });
    expect([texts(second), texts(third), third.has_more, third.response_metadata?.next_cursor]).toEqual([['m2', 'm1'], ['m0'], false, '']);
    expect(await failure(client.conversations.history({ channel: 'C1', cursor: 'bm9wZQ==' }))).toMatchObject({ data: expect.objectContaining({ error: 'invalid_cursor' }) });
  });

  test('history leaves thread replies out; conversations.replies lists a thread, parent first', async () => {
    const parent = (await client.chat.postMessage({ channel: 'C1', text: 'parent' })).ts as string;
    await client.chat.postMessage({ channel: 'C1', text: 'reply', thread_ts: parent, metadata: step('r2') });
    expect((await client.conversations.history({ channel: 'C1' })).messages?.map((m) => [m.text, m.reply_count])).toEqual([['parent', 1]]);
    const thread = await client.conversations.replies({ channel: 'C1', ts: parent, include_all_metadata: true });
    expect(thread.messages?.map((m) => [m.text, m.metadata?.event_payload])).toEqual([['parent', undefined], ['reply', { run_id: 'r2' }]]);
    expect(await failure(client.conversations.replies({ channel: 'C1', ts: '1.000001' }))).toMatchObject({ data: expect.objectContaining({ error: 'thread_not_found' }) });
  });

  test('reading needs membership and a channel id; a missing scope can be injected', async () => {
    fake.addChannel('C2', { name: 'private', isPrivate: true, isMember: false });
    expect(await failure(client.conversations.history({ channel: 'C2' }))).toMatchObject({ data: expect.objectContaining({ error: 'not_in_channel' }) });
    expect(await failure(client.conversations.history({ channel: '#private' }))).toMatchObject({ data: expect.objectContaining({ error: 'channel_not_found' }) });
    fake.failNext('conversations.history', { error: 'missing_scope', needed: 'groups:history', provided: 'chat:write' });
    expect(await failure(client.conversations.history({ channel: 'C1' }))).toMatchObject({ data: expect.objectContaining({ error: 'missing_scope', needed: 'groups:history' }) });
  });
});

describe('faults after the effect', () => {
  test('failAfterNext drop: the message is stored, the caller gets no answer', async () => {
    fake.failAfterNext('chat.postMessage', { drop: true });
    expect(await failure(client.chat.postMessage({ channel: 'C1', text: 'lost answer' }))).toMatchObject({ code: ErrorCode.RequestError });
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['lost answer']);
    expect(fake.callsTo('chat.postMessage')[0]).toMatchObject({ done: true, response: { status: 0 } });
  });

  test('holdAnswers: stored at once, answered on release; apiUrlFor tags the caller', async () => {
    const tagged = webClient(fake.workspace.botToken, { slackApiUrl: fake.apiUrlFor('replica-a') });
    const release = fake.holdAnswers('chat.postMessage');
    const pending = tagged.chat.postMessage({ channel: 'C1', text: 'held' });
    await new Promise<void>((resolve) => {
      const check = () => (fake.callsTo('chat.postMessage')[0]?.done ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['held']);
    expect(fake.callsTo('chat.postMessage')[0]).toMatchObject({ via: 'replica-a', done: true });
    expect(fake.callsTo('chat.postMessage')[0]?.response).toBeUndefined();
    release();
    expect(await pending).toMatchObject({ ok: true, channel: 'C1' });
  });
});

describe('hold', () => {
  test('records held calls at once and answers them only when released', async () => {
    const release = fake.hold('reactions.add');
    const reacting = client.reactions.add({ channel: 'C1', timestamp: fake.addUserMessage('C1', { user: 'U1', text: 'hi' }), name: 'eyes' });
    await client.chat.postMessage({ channel: 'C1', text: 'not held' });
    while (fake.callsTo('reactions.add').length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.callsTo('reactions.add')[0]?.response).toBeUndefined();
    release();
    await reacting;
    expect(fake.callsTo('reactions.add')[0]?.response?.status).toBe(200);
    // Released means released: later calls are answered at once.
    await client.reactions.add({ channel: 'C1', timestamp: fake.messages('C1')[0]!.ts, name: 'rocket' });
  });
});

describe('waitForCall', () => {
  test('resolves with a past or future call matching the predicate', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'first' });
    expect((await fake.waitForCall('chat.postMessage')).body.text).toBe('first');
    const later = fake.waitForCall('chat.postMessage', (c) => c.body.text === 'second');
    await client.chat.postMessage({ channel: 'C1', text: 'second' });
    expect(await later).toMatchObject({ body: { channel: 'C1', text: 'second' }, response: { status: 200 } });
  });

  test('rejects on timeout, listing the calls it did see', async () => {
    await client.auth.test();
    await expect(fake.waitForCall('chat.update', undefined, 50)).rejects.toThrow(/chat\.update.*50ms[\s\S]*auth\.test/);
  });
});

describe('Socket Mode', () => {
  let socketClient: SocketModeClient | undefined;

  afterEach(async () => {
    // Stop clients before the fake goes away, or they keep trying to reconnect.
    await socketClient?.disconnect();
    socketClient = undefined;
  });

  function newSocketClient(appToken = fake.workspace.appToken): SocketModeClient {
    socketClient = new SocketModeClient({
      appToken,
      logLevel: LogLevel.ERROR,
      autoReconnectEnabled: false,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    return socketClient;
  }

  test('apps.connections.open needs the app token and returns a ws:// URL', async () => {
    const result = await webClient(fake.workspace.appToken).apps.connections.open();
    expect(result.url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/socket\\?ticket=[\\w-]+&app_id=A123$`));
    expect(await failure(client.apps.connections.open())).toMatchObject({ data: expect.objectContaining({ error: 'not_allowed_token_type' }) });
  });

  test('a real SocketModeClient connects, receives an events_api envelope and acks it', async () => {
    const sm = newSocketClient();
    const received: unknown[] = [];
    sm.on('app_mention', async ({ ack, event }: { ack: () => Promise<void>; event: unknown }) => {
      received.push(event);
      await ack();
    });
    await sm.start(); // resolves on the server's hello
    await fake.socket.connected;
    expect(fake.socket.connectionCount).toBe(1);

    const payload = appMentionPayload({ channel: 'C1', user: 'U1', text: '<@UDECKHAND> deploy api' });
    const ack = await fake.socket.sendEvent({ type: 'events_api', payload, envelope_id: 'env-1' });
    expect(ack).toEqual({ envelope_id: 'env-1', payload: {}, at: expect.any(Number), connection: 1 });
    expect(received).toEqual([payload.event]);
    expect(fake.socket.acks).toHaveLength(1);
  });

  test('slash command acks carry the response payload; unacked envelopes time out', async () => {
    const sm = newSocketClient();
    sm.on('slash_commands', async ({ ack }: { ack: (body: object) => Promise<void> }) => {
      await ack({ text: 'Deploying api…' });
    });
    await sm.start();
    const ack = await fake.socket.sendEvent({
      type: 'slash_commands',
      payload: slashCommandPayload({ command: '/deploy', text: 'api', userId: 'U1', channelId: 'C1' }),
    });
    expect(ack.payload).toEqual({ text: 'Deploying api…' });

    await expect(fake.socket.sendEvent({ type: 'interactive', payload: { type: 'shortcut' } }, { timeoutMs: 100 })).rejects.toThrow(
      /No ack for interactive envelope .* within 100ms/,
    );
  });

  test('a disconnect message makes the client fetch a new URL and reconnect', async () => {
    const sm = new SocketModeClient({
      appToken: fake.workspace.appToken,
      logLevel: LogLevel.ERROR,
      clientPingTimeout: 100, // also the reconnect back-off step (default 5 s)
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    socketClient = sm;
    await sm.start();
    const reconnected = new Promise((resolve) => sm.once('connected', resolve));
    fake.socket.requestReconnect();
    await reconnected;
    expect(fake.callsTo('apps.connections.open')).toHaveLength(2);
    expect(fake.socket.connectionCount).toBe(1);
  });

  test('several connections (replicas): envelopes are spread over all of them, not all sent to one', async () => {
    const clients = [newSocketClient(), new SocketModeClient({ appToken: fake.workspace.appToken, logLevel: LogLevel.ERROR, autoReconnectEnabled: false, clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } } })];
    const got: number[][] = [[], []];
    clients.forEach((sm, i) =>
      sm.on('app_mention', async ({ ack, event }: { ack: () => Promise<void>; event: { text: string } }) => {
        got[i]!.push(Number(event.text));
        await ack();
      }),
    );
    try {
      for (const sm of clients) await sm.start();
      await fake.socket.waitForConnections(2);
      for (let n = 0; n < 10; n++) await fake.socket.sendEvent({ type: 'events_api', payload: appMentionPayload({ channel: 'C1', user: 'U1', text: String(n) }) });
      expect(got.map((g) => g.length)).toEqual([5, 5]);
      expect([...got[0]!, ...got[1]!].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(new Set(fake.socket.deliveries.map((d) => d.connection))).toEqual(new Set(fake.socket.openConnections));
    } finally {
      await clients[1]!.disconnect();
    }
  });

  test('redeliver(): an unacked Events API envelope goes again, to the next connection, marked as a retry', async () => {
    const sm = newSocketClient();
    const attempts: Array<{ attempt: number; reason: string }> = [];
    sm.on('app_mention', async ({ ack, retry_num, retry_reason }: { ack: () => Promise<void>; retry_num: number; retry_reason: string }) => {
      attempts.push({ attempt: retry_num, reason: retry_reason });
      await ack();
    });
    await sm.start();
    // A second "replica" that receives envelopes and never acks them (it hangs).
    const url = (await webClient(fake.workspace.appToken).apps.connections.open()).url as string;
    const { WebSocket } = await import('ws');
    const hung = new WebSocket(url);
    const hungGot: unknown[] = [];
    hung.on('message', (data) => hungGot.push(JSON.parse(String(data))));
    try {
      await fake.socket.waitForConnections(2);
      fake.socket.redeliver({ afterMs: 100 });
      const payload = appMentionPayload({ channel: 'C1', user: 'U1', text: 'hi' });
      // The first envelope goes to the first connection (acked at once), the second to the hung one ...
      await fake.socket.sendEvent({ type: 'events_api', payload, envelope_id: 'env-a' });
      const ack = await fake.socket.sendEvent({ type: 'events_api', payload, envelope_id: 'env-b' });
      // ... which never acks: after 100 ms it goes again, to the other, as retry 1.
      expect(ack.envelope_id).toBe('env-b');
      expect(fake.socket.deliveries.filter((d) => d.envelope_id === 'env-b').map((d) => d.attempt)).toEqual([0, 1]);
      expect(attempts).toEqual([
        { attempt: 0, reason: '' },
        { attempt: 1, reason: 'timeout' },
      ]);
      expect(hungGot).toContainEqual(expect.objectContaining({ envelope_id: 'env-b', retry_attempt: 0 }));
      // Slash commands and interactive payloads are not retried by Slack, nor by the fake.
      fake.socket.redeliver({ afterMs: 50 });
      await expect(fake.socket.sendEvent({ type: 'slash_commands', payload: slashCommandPayload({ command: '/deploy', text: 'x', userId: 'U1', channelId: 'C1' }) }, { timeoutMs: 100 })).rejects.toThrow(/No ack/);
      await expect(fake.socket.sendEvent({ type: 'interactive', payload: { type: 'shortcut' } }, { timeoutMs: 100 })).rejects.toThrow(/No ack/);
      expect(fake.socket.deliveries.filter((d) => d.type !== 'events_api').map((d) => d.attempt)).toEqual([0, 0]);
    } finally {
      fake.socket.redeliver(null);
      hung.terminate();
    }
  });

  test('sendEvent without a connected client fails fast', async () => {
    await expect(fake.socket.sendEvent({ type: 'events_api', payload: {} })).rejects.toThrow(/no Socket Mode client/);
    await expect(fake.socket.waitForConnection(50)).rejects.toThrow(/within 50ms/);
  });

  test('a Bolt App in Socket Mode answers an app_mention through the fake Web API', async () => {
    const app = new App({
      token: fake.workspace.botToken,
      appToken: fake.workspace.appToken,
      socketMode: true,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    app.event('app_mention', async ({ event, say }) => {
      await say({ text: `on it, <@${event.user}>`, thread_ts: event.ts });
    });
    await app.start();
    try {
      const mention = fake.addUserMessage('C1', { user: 'U1', text: '<@UDECKHAND> deploy' });
      const ack = await fake.socket.sendEvent({
        type: 'events_api',
        payload: appMentionPayload({ channel: 'C1', user: 'U1', text: '<@UDECKHAND> deploy', ts: mention }),
      });
      expect(ack.payload).toEqual({});
      await fake.waitForCall('chat.postMessage');
      expect(fake.message('C1', mention)?.replies.map((r) => r.text)).toEqual(['on it, <@U1>']);
    } finally {
      await app.stop();
    }
  });
});

describe('signed HTTP requests', () => {
  const secret = 'signing-secret';

  test('a signed request verifies with Bolt; a tampered body or stale timestamp does not', () => {
    const { body } = appMentionRequest({ channel: 'C1', user: 'U1', text: '<@UDECKHAND> hi' });
    const headers = signSlackRequest(secret, body);
    const asBoltWants = { 'x-slack-signature': headers['x-slack-signature'], 'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']) };
    expect(() => verifySlackRequest({ signingSecret: secret, body, headers: asBoltWants })).not.toThrow();
    expect(() => verifySlackRequest({ signingSecret: secret, body: body.replace('hi', 'rm -rf'), headers: asBoltWants })).toThrow(/signature mismatch/);
    const stale = signSlackRequest(secret, body, Math.floor(Date.now() / 1000) - 600);
    expect(() =>
      verifySlackRequest({
        signingSecret: secret,
        body,
        headers: { 'x-slack-signature': stale['x-slack-signature'], 'x-slack-request-timestamp': Number(stale['x-slack-request-timestamp']) },
      }),
    ).toThrow(/stale/);
  });

  test('a Bolt App in HTTP mode accepts the built requests', async () => {
    const app = new App({
      token: fake.workspace.botToken,
      signingSecret: secret,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    const seen: string[] = [];
    app.event('app_mention', async ({ event }) => void seen.push(`mention:${event.text}`));
    app.command('/deploy', async ({ command, ack }) => {
      seen.push(`command:${command.text}:${command.user_id}`);
      await ack('queued');
    });
    app.action('approve', async ({ action, body, ack }) => {
      seen.push(`action:${'value' in action ? action.value : ''}:${body.user.id}`);
      await ack();
    });
    const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    try {
      const challenge = await postToBolt(url, secret, urlVerificationRequest('abc'));
      expect(JSON.parse(challenge.text)).toEqual({ challenge: 'abc' });

      expect((await postToBolt(url, secret, appMentionRequest({ channel: 'C1', user: 'U1', text: '<@UDECKHAND> hi' }))).status).toBe(200);
      const command = await postToBolt(url, secret, slashCommandRequest({ command: '/deploy', text: 'api prod', userId: 'U1', channelId: 'C1' }));
      expect(command).toMatchObject({ status: 200, text: 'queued' });
      const action = blockActionsRequest({
        userId: 'U2',
        channelId: 'C1',
        message: { ts: '1700000000.000100', text: 'Approve deploy?' },
        actions: [{ action_id: 'approve', block_id: 'deploy-42', value: 'deploy-42' }],
      });
      expect((await postToBolt(url, secret, action)).status).toBe(200);
      expect((await postToBolt(url, 'wrong-secret', action)).status).toBe(401);

      expect(seen).toEqual(['mention:<@UDECKHAND> hi', 'command:api prod:U1', 'action:deploy-42:U2']);
    } finally {
      await app.stop();
    }
  });
});
