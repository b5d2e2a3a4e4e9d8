import { OutputBatcher } from '../../src/chat/output-batcher.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatPort } from '../../src/chat/chat-port.js';
import type { DeckhandConfig } from '../../src/config/types.js';
import type { Clock } from '../../src/core/clock.js';
import type { AnyEvent, EventBus } from '../../src/core/events.js';
import type { Deployment, Incident } from '../../src/core/model.js';
import { logLinkFor } from '../../src/http/deployment-log-route.js';
import type { Logger } from '../../src/core/logger.js';
import type { Dispatcher } from '../../src/router/dispatch.js';
import type { ChatMessage } from '../../src/router/types.js';
import type { Store } from '../../src/store/types.js';
import type { Actions } from '../../src/actions/index.js';
import { isDeckhandError } from '../../src/core/errors.js';
import { activitySchema, cardActionSchema, incidentActionSchema, sameServiceUrl, teamsUserId, toChatMessage, type Activity } from './activity.js';
import { ConnectorClient, defaultAuthorityUrl } from './connector.js';
import { certificateExpiryNotice, tokenSourceFor, type TeamsCredential } from './credentials.js';
import { ConversationQueue } from './conversation-queue.js';
import { deploymentCard, type CardExtras } from './deployment-card.js';
import { ackIncidentVerb, incidentCard } from './incident-card.js';
import { TeamsAuthError, createActivityTokenVerifier, defaultOpenIdMetadataUrl, endorsesChannel, type VerifiedActivityToken } from './teams-auth.js';

export const teamsMessagesPath = '/teams/messages';

export interface TeamsAdapterOptions {
  appId: string;
  /** Client secret, certificate or managed identity (credentials.ts teamsCredentialFromEnv). */
  credential: TeamsCredential;
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
  /** For the cards' Approve / Deny buttons, which go through the action layer as the clicking user. */
  actions?: Actions | undefined;
  /** Deckhand's public base URL, for the card's log link. */
  publicUrl?: (() => string) | undefined;
  /** How often a deployment's buffered output is posted in its card's reply chain; default 2 s. */
  outputFlushMs?: number;
  /** Lines kept per post; earlier ones are summarised as "… N earlier lines". Default 100. */
  maxLinesPerPost?: number;
  /** Pause before retrying a failed connector call without Retry-After (grows per attempt). Tests shorten it. */
  retryDelayMs?: number;
}

export interface TeamsAdapter {
  /** For reactions' chat actions: conversations any Deckhand process has heard from (their serviceUrl is in the store). */
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
  const tokens = tokenSourceFor(options.credential, { tenantId: options.tenantId, authorityUrl: options.authorityUrl ?? defaultAuthorityUrl });
  const connector = new ConnectorClient(tokens);
  const queue = new ConversationQueue({ logger: log, ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}) });
  /**
   * Conversation id → the serviceUrl a verified token named for it (the only URLs Deckhand ever
   * sends a token to). Kept in the store (chat_conversations) so that another process, or this one
   * after a restart, can post there; this map only saves a read (and a write when nothing changed).
   */
  const serviceUrls = new Map<string, string>();
  const rememberServiceUrl = async (conversation: string, serviceUrl: string, tenantId: string | null): Promise<void> => {
    if (serviceUrls.get(conversation) === serviceUrl) return;
    await store.rememberConversation({ adapter: 'teams', conversationId: conversation, serviceUrl, tenantId, updatedAt: clock.now().toISOString() });
    serviceUrls.set(conversation, serviceUrl);
  };
  const serviceUrlOf = async (conversation: string): Promise<string | null> => {
    const known = serviceUrls.get(conversation);
    if (known) return known;
    const stored = await store.findConversation('teams', conversation);
    if (stored) serviceUrls.set(conversation, stored.serviceUrl);
    return stored?.serviceUrl ?? null;
  };
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
      // The key that signed the token must be endorsed for the activity's channel (as the Bot Framework SDK checks).
      if (!endorsesChannel(token, activity.channelId)) {
        log.warn({ channelId: activity.channelId, endorsements: token.endorsements }, 'teams activity refused: its signing key is not endorsed for its channel');
        return refuse(res, 401, 'the activity\'s channel is not one its signing key is endorsed for');
      }
      const tenant = activity.conversation?.tenantId ?? activity.channelData?.tenant?.id;
      if (tenant !== undefined && tenant !== options.tenantId) {
        log.warn({ tenant }, 'teams activity refused: from another tenant than TEAMS_TENANT_ID');
        return refuse(res, 403, 'this bot serves one tenant');
      }
      if (activity.type === 'invoke') return onInvoke(activity, token.serviceUrl, tenant ?? null, res);
      const message = toChatMessage(activity);
      if (!message || !options.dispatcher.isAddressed(message)) return res.code(200).send();
      const conversation = message.room;
      // Only a serviceUrl that came in a verified token is stored (checked above).
      await rememberServiceUrl(conversation, token.serviceUrl, tenant ?? null);
      // Recorded before Teams gets its answer: a retry of the same activity id runs nothing. If the
      // store is away this throws, Teams gets a 5xx and sends it again.
      const fresh = await store.markSeen('teams-activity', `${conversation}:${message.id}`, clock.now().toISOString());
      if (fresh) run(message, reply(token.serviceUrl, conversation, message.id));
      return res.code(200).send();
    },
  });
  log.info({ path: teamsMessagesPath, credential: options.credential.kind }, 'teams adapter started');
  const expiry = certificateExpiryNotice(options.credential, clock.now());
  if (expiry) log[expiry.level](expiry.message);

  /**
   * One card per deployment asked for on Teams, in the thread of the message that asked: sent once
   * (its activity id remembered in the store, kind 'deployment', adapter 'teams'), then updated in
   * place. Through the conversation's queue, so the card is sent before it is updated.
   */
  const pending = new Set<Promise<unknown>>();
  /** The card as it stands now: the deployment, its approval request (if any), links. */
  const cardOf = async (d: Deployment, notice?: string) => {
    const environmentUrl = d.external?.environmentUrl ?? options.config?.apps[d.app]?.urls[d.environment];
    const approval = await store.approvalForDeployment(d.id);
    const extras: CardExtras = { logUrl: logLinkFor(options.publicUrl?.(), d), environmentUrl, notice };
    if (approval) extras.approval = { approval, approvers: options.config?.environments[d.environment]?.approvers ?? [] };
    return deploymentCard(d, extras);
  };
  /**
   * Where a deployment's card goes: the app's Teams notify target (`notify: { teams: … }`), else
   * the Teams conversation it was asked in — in the thread of the message that asked, when that is
   * the same conversation. Null: not a Teams matter (asked elsewhere, no Teams target).
   */
  const cardTarget = (d: Deployment): { conversation: string; replyTo: string | null } | null => {
    const notify = options.config?.apps[d.app]?.notifyTeams;
    const origin = d.origin?.adapter === 'teams' ? d.origin : null;
    if (notify) return { conversation: notify, replyTo: origin?.room === notify ? origin.messageId : null };
    return origin ? { conversation: origin.room, replyTo: origin.messageId } : null;
  };
  /** Conversations whose address is unknown, warned about once each (not on every event). */
  const unreachable = new Set<string>();
  const upsertCard = async (d: Deployment, target: { conversation: string; replyTo: string | null }): Promise<void> => {
    const { conversation } = target;
    const serviceUrl = await serviceUrlOf(conversation);
    if (!serviceUrl) {
      if (!unreachable.has(conversation)) {
        unreachable.add(conversation);
        log.warn(
          { conversation, deploymentId: d.id, app: d.app },
          'no Teams activity has come from this conversation yet, so Deckhand does not know its address (serviceUrl): deployment cards are not sent there until someone mentions the bot in it once',
        );
      }
      return;
    }
    unreachable.delete(conversation);
    // Re-read: events can arrive out of order, and the approval is not in the deployment event.
    const card = await cardOf((await store.getDeployment(d.id)) ?? d);
    const ref = await store.findMessage('deployment', String(d.id), 'teams');
    if (ref) {
      await connector.update(serviceUrl, ref.channel, ref.ts, card);
      return;
    }
    const sent = target.replyTo ? await connector.reply(serviceUrl, conversation, target.replyTo, card) : await connector.send(serviceUrl, conversation, card);
    await store.rememberMessage({ kind: 'deployment', key: String(d.id), adapter: 'teams', channel: conversation, ts: sent.id, updatedAt: clock.now().toISOString() });
  };
  /**
   * One card per incident (per generation of an entity) in oncall.teams, sent once and updated in
   * place (kind 'incident', key '<entity>#<generation>', adapter 'teams'), like Slack's message.
   */
  const upsertIncidentCard = async (conversation: string, incident: Incident): Promise<void> => {
    const serviceUrl = await serviceUrlOf(conversation);
    if (!serviceUrl) {
      if (!unreachable.has(conversation)) {
        unreachable.add(conversation);
        log.warn({ conversation, entityId: incident.entityId }, 'no Teams activity has come from oncall.teams yet, so Deckhand does not know its address (serviceUrl): incident cards are not sent there until someone mentions the bot in it once');
      }
      return;
    }
    unreachable.delete(conversation);
    const key = `${incident.entityId}#${incident.generation}`;
    // Re-read: the store has the incident as it stands now (events may arrive out of order).
    const current = await store.getIncident(incident.entityId);
    const card = incidentCard(current && current.generation === incident.generation ? current : incident);
    const ref = await store.findMessage('incident', key, 'teams');
    if (ref) {
      await connector.update(serviceUrl, ref.channel, ref.ts, card);
      return;
    }
    const sent = await connector.send(serviceUrl, conversation, card);
    await store.rememberMessage({ kind: 'incident', key, adapter: 'teams', channel: conversation, ts: sent.id, updatedAt: clock.now().toISOString() });
  };
  const onEvent = (event: AnyEvent): void => {
    if (event.type.startsWith('incident.')) {
      const conversation = options.config?.oncall.teams;
      if (!conversation) return;
      const incident = (event.data as { incident: Incident }).incident;
      const work = queue.enqueue(conversation, () => upsertIncidentCard(conversation, incident)).catch((err: unknown) => log.error({ err, entityId: incident.entityId }, 'teams incident card was not delivered'));
      pending.add(work);
      void work.finally(() => pending.delete(work));
      return;
    }
    if (!event.type.startsWith('deployment.') && !event.type.startsWith('approval.')) return;
    const d = (event.data as { deployment: Deployment }).deployment;
    const target = cardTarget(d);
    if (!target) return;
    // Not awaited: the runner never waits for Teams; the queue keeps the order and retries.
    const work = queue.enqueue(target.conversation, () => upsertCard(d, target)).catch((err: unknown) => log.error({ err, deploymentId: d.id }, 'teams deployment card was not delivered'));
    pending.add(work);
    void work.finally(() => pending.delete(work));
    // The rest of the output right after the final card (same lane, so in that order).
    if (d.state !== 'queued' && d.state !== 'running') output.flushNow(d.id);
  };

  /**
   * An Approve / Deny click (Universal Actions: an `invoke` named `adaptiveCard/action`). Runs the
   * decision through the action layer as the clicking user, once per activity id, and answers with
   * the refreshed card for the clicker (with a line saying why, when the click was refused);
   * everyone else sees the card updated in place by the approval / deployment events.
   */
  // HTTP 200 with the status in the body, as the Teams SDK and the Agents SDK answer; the error type
  // takes statusCode 400 or 500 only (teams.ts api/src/models/adaptive-card/adaptive-card-action-response.ts),
  // so a refusal is a 400 whose `code` says which.
  const invokeError = (res: FastifyReply, code: 'BadRequest' | 'Forbidden', message: string) =>
    res.code(200).send({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code, message } });
  async function onInvoke(activity: Activity, serviceUrl: string, tenant: string | null, res: FastifyReply) {
    if (activity.name !== 'adaptiveCard/action') {
      log.debug({ name: activity.name }, 'teams invoke ignored: not a card action');
      return res.code(200).send({});
    }
    const incidentAction = incidentActionSchema.safeParse(activity.value);
    if (incidentAction.success && activity.id && activity.conversation) return onIncidentAction(activity, incidentAction.data.action, serviceUrl, tenant, res);
    const parsed = cardActionSchema.safeParse(activity.value);
    if (!parsed.success || !activity.id || !activity.conversation) return invokeError(res, 'BadRequest', 'This is not one of Deckhand\'s card buttons.');
    const aadObjectId = activity.from?.aadObjectId;
    if (!aadObjectId) return invokeError(res, 'Forbidden', 'Deckhand could not tell who clicked (no Entra object id).');
    const conversation = activity.conversation.id;
    await rememberServiceUrl(conversation, serviceUrl, tenant);
    const { verb, data } = parsed.data.action;
    let notice: string | undefined;
    // Teams re-sends an invoke it got no answer for: the decision is made once; a repeat gets the card as it is.
    const fresh = verb !== 'refresh' && (await store.markSeen('teams-activity', `${conversation}:${activity.id}`, clock.now().toISOString()));
    if (fresh) {
      if (!options.actions) return invokeError(res, 'BadRequest', 'Approvals are not wired to this Teams adapter.');
      try {
        await options.actions.decideApproval({ id: teamsUserId(aadObjectId), ...(activity.from?.name ? { name: activity.from.name } : {}), room: conversation }, { deploymentId: data.deploymentId, decision: verb });
      } catch (err) {
        // Not an approver, own request, already decided: said on the clicker's card only.
        if (!isDeckhandError(err)) log.error({ err }, 'teams approval button failed');
        notice = isDeckhandError(err) ? err.message : 'That did not work; the details are in Deckhand\'s log.';
      }
    }
    const deployment = await store.getDeployment(data.deploymentId);
    if (!deployment) return invokeError(res, 'BadRequest', notice ?? `There is no deployment #${data.deploymentId}.`);
    const card = await cardOf(deployment, notice);
    const content = (card.attachments?.[0] as { content: unknown }).content;
    return res.code(200).send({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: content });
  }

  /**
   * Acknowledge / Resolve on an incident card: through actOnIncident as teams:<aadObjectId> (mapped
   * to a Splunk On-Call user under oncall.users), once per activity id; a click on a card that is
   * out of date (the incident already there) does nothing and says so. The clicker gets the
   * refreshed card; everyone else sees it updated in place by the incident event.
   */
  async function onIncidentAction(activity: Activity, action: { verb: 'incident_ack' | 'incident_resolve'; data: { entityId: string } }, serviceUrl: string, tenant: string | null, res: FastifyReply) {
    const conversation = (activity.conversation as NonNullable<Activity['conversation']>).id;
    const aadObjectId = activity.from?.aadObjectId;
    if (!aadObjectId) return invokeError(res, 'Forbidden', 'Deckhand could not tell who clicked (no Entra object id).');
    await rememberServiceUrl(conversation, serviceUrl, tenant);
    const { entityId } = action.data;
    const wanted = action.verb === ackIncidentVerb ? 'ack' : 'resolve';
    let notice: string | undefined;
    const fresh = await store.markSeen('teams-activity', `${conversation}:${activity.id as string}`, clock.now().toISOString());
    const before = await store.getIncident(entityId);
    if (!before) return invokeError(res, 'BadRequest', `Deckhand knows no incident for ${entityId}.`);
    const done = before.phase === 'resolved' || (wanted === 'ack' && before.phase === 'acknowledged');
    if (fresh && done) notice = `It is ${before.phase} already${before.by ? ` (by ${before.by})` : ''}.`;
    else if (fresh) {
      if (!options.actions) return invokeError(res, 'BadRequest', 'Incidents are not wired to this Teams adapter.');
      try {
        await options.actions.actOnIncident({ id: teamsUserId(aadObjectId), ...(activity.from?.name ? { name: activity.from.name } : {}), room: conversation }, { incident: entityId, action: wanted });
      } catch (err) {
        if (!isDeckhandError(err)) log.error({ err }, 'teams incident button failed');
        notice = isDeckhandError(err) ? err.message : 'That did not work; the details are in Deckhand\'s log.';
      }
    }
    const incident = (await store.getIncident(entityId)) ?? before;
    const content = (incidentCard(incident, notice).attachments?.[0] as { content: unknown }).content;
    return res.code(200).send({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: content });
  }

  /**
   * The script's output in the card's reply chain (like Slack's thread): lines are buffered per
   * deployment and posted at most every outputFlushMs (and when it ends) as one code block, through
   * the conversation's queue — so a busy script costs one message per interval, after the card.
   */
  const postOutput = async (deploymentId: number, conversation: string, text: string): Promise<void> => {
    const serviceUrl = await serviceUrlOf(conversation);
    const card = await store.findMessage('deployment', String(deploymentId), 'teams');
    // No card (the conversation's address is unknown): nothing to reply to; the warning was logged once.
    if (!serviceUrl || !card) return;
    await connector.reply(serviceUrl, card.channel, card.ts, { type: 'message', text, textFormat: 'markdown' });
  };
  const output = new OutputBatcher<string>(
    (deploymentId, { target: conversation, text }) => {
      // A fence inside the output would end the code block early.
      const body = text.replaceAll('```', '`\u200b``');
      const work = queue.enqueue(conversation, () => postOutput(deploymentId, conversation, `\`\`\`\n${body}\n\`\`\``)).catch((err: unknown) => log.error({ err, deploymentId }, 'teams deployment output was not delivered'));
      pending.add(work);
      void work.finally(() => pending.delete(work));
    },
    { flushMs: options.outputFlushMs, maxLines: options.maxLinesPerPost },
  );
  const onOutput = (d: Deployment, line: string): void => {
    const target = cardTarget(d);
    if (target) output.add(d.id, target.conversation, line);
  };

  const unsubscribe = options.bus ? options.bus.subscribe(onEvent) : () => undefined;
  const unsubscribeOutput = options.bus ? options.bus.subscribeOutput(onOutput) : () => undefined;

  const chat: ChatPort = {
    post: async (channel, text, thread) => {
      const serviceUrl = await serviceUrlOf(channel);
      if (!serviceUrl) {
        log.warn({ conversation: channel }, 'no Teams activity ever came from this conversation, so its serviceUrl is unknown: not posted');
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
      unsubscribeOutput();
      output.flushAll();
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await queue.drain();
    },
  };
}
