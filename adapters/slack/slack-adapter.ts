import type { BlockAction, ButtonAction, Receiver } from '@slack/bolt';
import { isDeckhandError } from '../../src/core/errors.js';
import { addReaction } from './add-reaction.js';
import { approveActionId, denyActionId } from './approval-blocks.js';
import { ackIncidentActionId, resolveIncidentActionId } from './incident-blocks.js';
import type { WebClient } from '@slack/web-api';
import type { ChatPort } from '../../src/chat/chat-port.js';
import type { ChatAdapterDeps } from '../../src/chat/chat-adapter.js';
import type { ChatMessage } from '../../src/router/types.js';
import { boltLogger } from './bolt-logger.js';
import { explainSlackStartError } from './explain-start-error.js';
import { ChannelQueue, type OpPriority } from './channel-queue.js';
import { countingFetch } from './counting-fetch.js';
import { slackRequestGate } from './slack-request-gate.js';
import { loadBolt } from './bolt-parts.js';
import { ackAfterListeners, GateReceiver, plainMessage, type MessageFields } from './receivers.js';

export { ackAfterListeners, plainMessage } from './receivers.js';
import { DeploymentNotifier } from './deployment-notifier.js';
import { postOnce } from './post-once.js';

/** What Deckhand hands every adapter (ChatAdapterDeps), and Slack's own settings. */
export interface SlackAdapterOptions extends Pick<ChatAdapterDeps, 'http' | 'dispatcher' | 'actions' | 'bus' | 'store' | 'config' | 'logger' | 'clock'>, Partial<Pick<ChatAdapterDeps, 'publicUrl'>> {
  botToken: string;
  /** Socket Mode when set; HTTP mode (POST /slack/events on `http`) otherwise. */
  appToken?: string | undefined;
  signingSecret?: string | undefined;
  apiUrl?: string | undefined;
  slashCommand: string;
  /** Pause between messages to one channel (Slack: about 1/s). Tests shorten it. */
  channelIntervalMs?: number;
  /**
   * Messages that may go into a quiet channel at once before the interval paces them (GCRA burst,
   * shared by the replicas through the store). Default 3: Slack allows "short bursts >1" over
   * its ~1 message/second/channel; 3 lets a reply, its deployment's post and an edit go at once.
   */
  channelBurst?: number;
  /** Pause before retrying a failed call that had no Retry-After (grows per attempt). Tests shorten it. */
  retryDelayMs?: number;
  outputFlushMs?: number;
  /** Deckhand's metrics: every Web API request is counted by method and status. */
  metrics?: { onApiRequest(service: 'slack', method: string, status: number): void } | undefined;
}

export interface SlackAdapter {
  mode: 'socket' | 'http';
  /** For reactions' chat actions: through the same per-channel queue as everything else. */
  chat: ChatPort;
  botUserId: string;
  notifier: DeploymentNotifier;
  /** Sends what is queued, then disconnects. */
  stop(): Promise<void>;
}

export const slackEventsPath = '/slack/events';

/**
 * Slack documents chat.postMessage as about one message per second per channel, "short bursts >1
 * allowed" (api.slack.com/docs/rate-limits): a small burst, so that a few messages at once (a reply
 * and the notices of what it started) are not queued a second apart, nor one late wake-up delays a
 * channel for good; small, so that a burst never meets Slack's undocumented ceiling.
 */
export const slackChannelBurst = 3;

/**
 * The Slack adapter on the real Bolt App. Messages (mention, prefix, DM, slash command) become
 * ChatMessages for the same dispatcher the terminal uses; deployment events become live messages.
 */
export async function startSlackAdapter(options: SlackAdapterOptions): Promise<SlackAdapter> {
  const { logger, store, clock } = options;
  const log = boltLogger(logger);
  const clientOptions = {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    // 429s are handled by the channel queue (it honours Retry-After); 5xx get two quick retries.
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 2, factor: 1.5, minTimeout: 200, maxTimeout: 2000 },
    timeout: 10_000,
    ...(options.metrics ? { fetch: countingFetch((method, status) => options.metrics?.onApiRequest('slack', method, status)) } : {}),
  };

  // Bolt file by file, without Socket Mode in HTTP mode (bolt-parts.ts): a third of the start.
  const bolt = loadBolt(options.appToken ? 'socket' : 'http');
  let receiver: Receiver;
  let httpReceiver: GateReceiver | null = null;
  if (options.appToken) {
    const SocketModeReceiver = bolt.SocketModeReceiver();
    const socketReceiver = new SocketModeReceiver({ appToken: options.appToken, logger: log, installerOptions: { clientOptions } });
    const init = socketReceiver.init.bind(socketReceiver);
    socketReceiver.init = (app) => init(ackAfterListeners(app));
    receiver = socketReceiver;
  } else {
    httpReceiver = new GateReceiver(bolt, log);
    receiver = httpReceiver;
  }

  // No conversation store: no listener reads `context.conversation`, and Bolt's default one builds
  // an Error ("Conversation not found") for every event it is asked about.
  const app = new bolt.App({ token: options.botToken, receiver, logger: log, clientOptions, deferInitialization: true, convoStore: false });
  const apiUrl = options.apiUrl ?? 'https://slack.com/api/';
  let botUserId: string;
  try {
    await app.init();
    botUserId = String((await app.client.auth.test()).user_id ?? '');
  } catch (err) {
    throw explainSlackStartError(err, { variable: 'SLACK_BOT_TOKEN', apiUrl });
  }

  const queue = new ChannelQueue({
    logger,
    ...(options.channelIntervalMs !== undefined ? { intervalMs: options.channelIntervalMs } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    // Slack's ~1 message/second is per channel, not per process: every replica on this store takes
    // its turn from the same row. (Wall-clock time, like the queue's own sleeps: not the injected clock.)
    burst: options.channelBurst ?? slackChannelBurst,
    reserveSlot: (channel, now, intervalMs, burst) => store.reserveChatSlot('slack', channel, now, intervalMs, burst),
  });
  const notifier = new DeploymentNotifier({
    client: app.client,
    store,
    config: options.config,
    queue,
    logger,
    clock,
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    ...(options.outputFlushMs !== undefined ? { outputFlushMs: options.outputFlushMs } : {}),
  });
  const unsubscribe = [options.bus.subscribe(notifier.onEvent), options.bus.subscribeOutput(notifier.onOutput)];

  /**
   * Work started after Slack's request is answered: not awaited by the listener (so not by the
   * acknowledgement), its failures logged here — the process keeps running.
   */
  const startWork = (work: () => Promise<unknown>): void => {
    void work().catch((err: unknown) => logger.error({ err }, 'slack listener failed'));
  };

  /**
   * Records a message as seen, before Slack is answered. False for channel chatter (most of what
   * Slack sends: dropped before it costs a database write) and for what was seen before (retries;
   * app_mention + message). Throws when the store is away: Slack then gets a 5xx and sends it again.
   */
  const record = async (message: ChatMessage, dedupeKey: string): Promise<boolean> => {
    if (!options.dispatcher.isAddressed(message)) return false;
    return store.markSeen('slack', dedupeKey, clock.now().toISOString());
  };

  /** Runs a recorded message and answers it, without holding up Slack's acknowledgement. */
  const run = (message: ChatMessage, reply: (text: string) => Promise<unknown>): void =>
    startWork(async () => {
      const answer = await options.dispatcher.handle(message);
      if (answer) await reply(answer.text);
    });

  const postMessage = (channel: string, text: string, thread: string | undefined, priority: OpPriority) =>
    queue.enqueue(channel, { priority, run: async () => void (await app.client.chat.postMessage({ channel, text, ...(thread ? { thread_ts: thread } : {}) })) });
  /** The answer to a person: ahead of the notices and edits their own command set off. */
  const postReply = (channel: string, thread: string | undefined) => (text: string) => postMessage(channel, text, thread, 'reply');
  const postEphemeral = (client: WebClient, channel: string, user: string) => (text: string) =>
    queue.enqueue(channel, { priority: 'reply', run: async () => void (await client.chat.postEphemeral({ channel, user, text })) });

  const leadingMention = new RegExp(`^\\s*<@${botUserId}(?:\\|[^>]*)?>[:,]?\\s*`);

  app.event('app_mention', async ({ event }) => {
    if (!event.user || event.bot_id) return;
    const thread = event.thread_ts;
    // "@deckhand deploy api" is addressed to us: strip the mention. A mention mid-sentence is not a command.
    const addressed = leadingMention.test(event.text);
    const text = event.text.replace(leadingMention, '');
    const message: ChatMessage = { id: event.ts, user: event.user, room: event.channel, text, isDirect: addressed, adapter: 'slack', ...(thread ? { thread } : {}) };
    // Bolt has already called ack() for an event; the answer goes when this listener resolves.
    if (await record(message, `message:${event.channel}:${event.ts}`)) run(message, postReply(event.channel, thread));
  });

  app.message(async ({ message }) => {
    const chat = plainMessage(message, botUserId);
    if (chat && (await record(chat, `message:${chat.room}:${chat.id}`))) run(chat, postReply(chat.room, chat.thread));
  });

  app.command(options.slashCommand, async ({ command, ack, client }) => {
    const message: ChatMessage = {
      id: `command:${command.trigger_id}`,
      user: command.user_id,
      userName: command.user_name,
      room: command.channel_id,
      text: command.text,
      isDirect: true,
      adapter: 'slack',
    };
    // Recorded before ack(): if that fails, Slack is not told the command arrived.
    const fresh = await record(message, `command:${command.trigger_id}`);
    await ack();
    if (fresh) run(message, postEphemeral(client, command.channel_id, command.user_id));
  });

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: new RegExp(`^(${approveActionId}|${denyActionId})$`) }, async ({ ack, body, action, client }) => {
    const channel = body.channel?.id ?? '';
    const fresh = await store.markSeen('slack', `action:${body.trigger_id}`, clock.now().toISOString());
    await ack();
    if (!fresh) return;
    const decision = action.action_id === approveActionId ? 'approve' : 'deny';
    startWork(async () => {
      try {
        await options.actions.decideApproval({ id: body.user.id, room: channel }, { deploymentId: Number(action.value), decision });
      } catch (err) {
        // Not an approver, own request, or a second click: tell only the person who clicked.
        const text = isDeckhandError(err) ? err.message : 'That did not work; the details are in Deckhand\'s log.';
        if (!isDeckhandError(err)) logger.error({ err }, 'approval button failed');
        await postEphemeral(client, channel, body.user.id)(text);
      }
    });
  });

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: new RegExp(`^(${ackIncidentActionId}|${resolveIncidentActionId})$`) }, async ({ ack, body, action, client }) => {
    const channel = body.channel?.id ?? '';
    const fresh = await store.markSeen('slack', `action:${body.trigger_id}`, clock.now().toISOString());
    await ack();
    if (!fresh) return;
    startWork(async () => {
      try {
        // As the clicking user's own on-call user; the message is edited when the change is recorded.
        await options.actions.actOnIncident({ id: body.user.id, room: channel }, { incident: action.value ?? '', action: action.action_id === ackIncidentActionId ? 'ack' : 'resolve' });
      } catch (err) {
        const text = isDeckhandError(err) ? err.message : 'That did not work; the details are in Deckhand\'s log.';
        if (!isDeckhandError(err)) logger.error({ err }, 'incident button failed');
        await postEphemeral(client, channel, body.user.id)(text);
      }
    });
  });

  app.error(async (err) => {
    // A listener fails only when it could not record what arrived (the store is away). Rethrown so
    // that the receiver does not acknowledge it: in HTTP mode Bolt's HTTPReceiver answers 500 and
    // Slack retries; in Socket Mode the SocketModeReceiver logs it and leaves the envelope unacked
    // (an event, though, Bolt acked before its listener ran). The process keeps running.
    logger.error({ err }, 'slack listener failed');
    throw err;
  });

  if (httpReceiver) {
    // Of an Events API `message` event, the only listener above that hears it is app.message, and
    // it does nothing with one that plainMessage drops or that is not addressed to the bot (record()
    // returns false before any write): such an event (channel chatter) skips Bolt. A listener added
    // for message events must be reflected here.
    httpReceiver.passesBy = (body) => {
      const event = body.event as (MessageFields & { type?: unknown }) | undefined;
      if (event?.type !== 'message') return false;
      const chat = plainMessage(event, botUserId);
      return chat === null || !options.dispatcher.isAddressed(chat);
    };
  }

  let mode: SlackAdapter['mode'];
  if (httpReceiver) {
    mode = 'http';
    // Bolt takes the raw request, before Fastify parses the body; the gate first refuses what
    // would crash or confuse it (a signed `null` used to end the process).
    const gate = slackRequestGate({ signingSecret: options.signingSecret ?? '', logger, forward: httpReceiver.handle });
    options.http.addHook('onRequest', (request, reply, done) => {
      if (request.method === 'POST' && request.url.split('?')[0] === slackEventsPath) {
        reply.hijack();
        gate(request.raw, reply.raw).catch((err: unknown) => {
          logger.error({ err }, 'slack request failed');
          if (!reply.raw.headersSent) reply.raw.writeHead(500).end();
        });
        return;
      }
      done();
    });
  } else {
    mode = 'socket';
    await app.start().catch((err: unknown) => {
      throw explainSlackStartError(err, { variable: 'SLACK_APP_TOKEN', apiUrl });
    });
  }
  logger.info({ mode, botUserId }, 'slack adapter started');

  // A reaction step's message is posted exactly once (post-once.ts), with a client that never
  // retries a call by itself: the channel queue retries, and looks for the message first.
  const exactlyOnce = postOnce({ client: new bolt.WebClient(options.botToken, { ...clientOptions, logger: log, retryConfig: { retries: 0 } }), store, logger });
  const chat: ChatPort = {
    // Reactions' and the API's messages answer no one in particular: notices.
    post: async (channel, text, thread, once) => {
      if (!once) return postMessage(channel, text, thread, 'notice');
      const post = { channel, text, thread, runId: once.runId };
      const prepared = await exactlyOnce.prepare(post);
      if (prepared === 'posted') return;
      const state = { intentMs: prepared.intentMs, mayExist: prepared.earlier };
      await queue.enqueue(channel, { priority: 'notice', run: () => exactlyOnce.send(post, state) });
    },
    react: (channel, ts, name) => queue.enqueue(channel, { priority: 'reaction', run: () => addReaction(app.client, channel, ts, name) }),
  };

  return {
    mode,
    chat,
    botUserId,
    notifier,
    async stop() {
      unsubscribe.forEach((off) => off());
      await notifier.settle();
      await queue.drain();
      if (mode === 'socket') await app.stop();
    },
  };
}
