import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatPort } from '../../src/chat/chat-port.js';
import type { DeckhandConfig } from '../../src/config/types.js';
import type { Clock } from '../../src/core/clock.js';
import type { AnyEvent, EventBus } from '../../src/core/events.js';
import type { Deployment } from '../../src/core/model.js';
import { logLinkFor } from '../../src/http/deployment-log-route.js';
import type { Logger } from '../../src/core/logger.js';
import type { Dispatcher } from '../../src/router/dispatch.js';
import type { ChatMessage } from '../../src/router/types.js';
import type { Store } from '../../src/store/types.js';
import { activitySchema, sameServiceUrl, toChatMessage } from './activity.js';
import { ConnectorClient, TokenSource, defaultAuthorityUrl } from './connector.js';
import { ConversationQueue } from './conversation-queue.js';
import { deploymentCard } from './deployment-card.js';
import { TeamsAuthError, createActivityTokenVerifier, defaultOpenIdMetadataUrl, type VerifiedActivityToken } from './teams-auth.js';

export const teamsMessagesPath = '/teams/messages';

export interface TeamsAdapterOptions {
  appId: string;
  appPassword: string;
  tenantId: string;
  openIdMetadataUrl?: string | undefined;
  authorityUrl?: string | undefined;
  http: FastifyInstance;
  dispatcher: Dispatcher;
  store: Store;
  logger: Logger;
  clock: Clock;
  /** Deployment events: deployments asked for on Teams get a card there, updated in place. */
  bus?: EventBus | undefined;
  config?: DeckhandConfig | undefined;
  /** Deckhand's public base URL, for the card's log link. */
  publicUrl?: (() => string) | undefined;
  /** Pause before retrying a failed connector call without Retry-After (grows per attempt). Tests shorten it. */
  retryDelayMs?: number;
}

export interface TeamsAdapter {
  /** For reactions' chat actions: conversations Deckhand has heard from since it started (their serviceUrl is known). */
  chat: ChatPort;
  /** Sends what is queued. */
  stop(): Promise<void>;
}

/**
 * The Teams adapter (first slice of issue 14): activities arrive at POST /teams/messages signed by
 * the Bot Framework; messages addressed to the bot go to the same dispatcher as Slack and the
 * terminal; answers go back through the Bot Connector REST API, in order per conversation.
 * No SDK: docs/decisions/020-teams-thin-bot-connector-client.md says why.
 */
export function startTeamsAdapter(options: TeamsAdapterOptions): TeamsAdapter {
  const { logger, store, clock } = options;
  const log = logger.child({ component: 'teams' });
  const verify = createActivityTokenVerifier({ appId: options.appId, openIdMetadataUrl: options.openIdMetadataUrl ?? defaultOpenIdMetadataUrl });
  const tokens = new TokenSource({ appId: options.appId, appPassword: options.appPassword, tenantId: options.tenantId, authorityUrl: options.authorityUrl ?? defaultAuthorityUrl });
  const connector = new ConnectorClient(tokens);
  const queue = new ConversationQueue({ logger: log, ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}) });
  /** Conversation id → the serviceUrl a verified token named for it (the only URLs Deckhand ever sends a token to). */
  const serviceUrls = new Map<string, string>();
  const verified = new WeakMap<FastifyRequest, VerifiedActivityToken>();

  const startWork = (work: () => Promise<unknown>): void => {
    void work().catch((err: unknown) => log.error({ err }, 'teams message failed'));
  };

  const reply = (serviceUrl: string, conversation: string, activityId: string) => (text: string) =>
    queue.enqueue(conversation, () => connector.reply(serviceUrl, conversation, activityId, { type: 'message', text, textFormat: 'plain' }));

  const run = (message: ChatMessage, answer: (text: string) => Promise<unknown>): void =>
    startWork(async () => {
      const result = await options.dispatcher.handle(message);
      if (result) await answer(result.text);
    });

  const refuse = (res: FastifyReply, status: number, error: string) => res.code(status).send({ error });

  options.http.route({
    method: 'POST',
    url: teamsMessagesPath,
    // The token first, before the body is read: an unsigned request costs no parsing.
    onRequest: async (request, res) => {
      try {
        verified.set(request, await verify(request.headers.authorization));
      } catch (err) {
        if (err instanceof TeamsAuthError) {
          log.warn({ reason: err.message }, 'teams activity refused: the token did not verify');
          return refuse(res, 401, 'the Bot Framework token is missing or does not verify');
        }
        // Deckhand could not fetch the signing keys: not the sender's fault; Teams tries again.
        log.error({ err }, 'could not check a Teams activity token (the Bot Framework OpenID metadata or keys)');
        return refuse(res, 503, 'the signing keys could not be fetched just now');
      }
    },
    handler: async (request, res) => {
      const token = verified.get(request) as VerifiedActivityToken;
      const parsed = activitySchema.safeParse(request.body);
      if (!parsed.success) return refuse(res, 400, `not a Bot Framework activity: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
      const activity = parsed.data;
      // An activity may be answered only through the connector its token names.
      if (!activity.serviceUrl || !sameServiceUrl(activity.serviceUrl, token.serviceUrl)) {
        log.warn({ activityServiceUrl: activity.serviceUrl }, 'teams activity refused: its serviceUrl is not the one its token names');
        return refuse(res, 401, 'the activity\'s serviceUrl does not match its token');
      }
      const tenant = activity.conversation?.tenantId ?? activity.channelData?.tenant?.id;
      if (tenant !== undefined && tenant !== options.tenantId) {
        log.warn({ tenant }, 'teams activity refused: from another tenant than TEAMS_TENANT_ID');
        return refuse(res, 403, 'this bot serves one tenant');
      }
      const message = toChatMessage(activity);
      if (!message || !options.dispatcher.isAddressed(message)) return res.code(200).send();
      const conversation = message.room;
      serviceUrls.set(conversation, token.serviceUrl);
      // Recorded before Teams gets its answer: a retry of the same activity id runs nothing. If the
      // store is away this throws, Teams gets a 5xx and sends it again.
      const fresh = await store.markSeen('teams-activity', `${conversation}:${message.id}`, clock.now().toISOString());
      if (fresh) run(message, reply(token.serviceUrl, conversation, message.id));
      return res.code(200).send();
    },
  });
  log.info({ path: teamsMessagesPath }, 'teams adapter started');

  /**
   * One card per deployment asked for on Teams, in the thread of the message that asked: sent once
   * (its activity id remembered in the store, kind 'deployment', adapter 'teams'), then updated in
   * place. Through the conversation's queue, so the card is sent before it is updated.
   */
  const pending = new Set<Promise<unknown>>();
  const upsertCard = async (d: Deployment): Promise<void> => {
    const origin = d.origin as NonNullable<Deployment['origin']>;
    const serviceUrl = serviceUrls.get(origin.room);
    if (!serviceUrl) return;
    const environmentUrl = d.external?.environmentUrl ?? options.config?.apps[d.app]?.urls[d.environment];
    const card = deploymentCard(d, { logUrl: logLinkFor(options.publicUrl?.(), d), environmentUrl });
    const ref = await store.findMessage('deployment', String(d.id), 'teams');
    if (ref) {
      await connector.update(serviceUrl, ref.channel, ref.ts, card);
      return;
    }
    const sent = await connector.reply(serviceUrl, origin.room, origin.messageId, card);
    await store.rememberMessage({ kind: 'deployment', key: String(d.id), adapter: 'teams', channel: origin.room, ts: sent.id, updatedAt: clock.now().toISOString() });
  };
  const onEvent = (event: AnyEvent): void => {
    if (!event.type.startsWith('deployment.')) return;
    const d = (event.data as { deployment: Deployment }).deployment;
    if (d.origin?.adapter !== 'teams') return;
    // Not awaited: the runner never waits for Teams; the queue keeps the order and retries.
    const work = queue.enqueue(d.origin.room, () => upsertCard(d)).catch((err: unknown) => log.error({ err, deploymentId: d.id }, 'teams deployment card was not delivered'));
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  const unsubscribe = options.bus ? options.bus.subscribe(onEvent) : () => undefined;

  const chat: ChatPort = {
    post: async (channel, text, thread) => {
      const serviceUrl = serviceUrls.get(channel);
      if (!serviceUrl) {
        log.warn({ conversation: channel }, 'no Teams message came from this conversation since Deckhand started, so its serviceUrl is unknown: not posted');
        return;
      }
      await queue.enqueue(channel, () =>
        thread ? connector.reply(serviceUrl, channel, thread, { type: 'message', text, textFormat: 'plain' }) : connector.send(serviceUrl, channel, { type: 'message', text, textFormat: 'plain' }),
      );
    },
    // Bots cannot add reactions to messages on Teams.
    react: async () => undefined,
  };

  return {
    chat,
    async stop() {
      unsubscribe();
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await queue.drain();
    },
  };
}
