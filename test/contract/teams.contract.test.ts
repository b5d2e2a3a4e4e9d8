import { randomUUID } from 'node:crypto';
import { cardActionActivity, messageActivity, startFakeTeams, type ConnectorCall, type FakeTeams } from '../fakes/teams/fake-teams.js';
import { postActivity } from '../fakes/teams/teams-bot.js';
import { until } from '../fixtures/in-process.js';
import { chatAdapterContract, type ContractDriver, type Person, type Said } from './chat-adapter-contract.js';

const people: Record<Person, string> = { alice: 'teams:aad-alice', bob: 'teams:aad-bob', carol: 'teams:aad-carol' };
const conversationOf = (name: string) => `19:${name}@thread.tacv2`;
const who = (person: Person) => ({ aadObjectId: `aad-${person}`, userName: person[0]?.toUpperCase() + person.slice(1) });

/**
 * Microsoft Teams: activities signed with the fake Bot Framework's own key (test/fakes/teams), POSTed
 * to the real adapter's /teams/messages on Deckhand's server; answers through the fake Bot
 * Connector, which records every call.
 */
let teams: FakeTeams;
const activities = new Map<string, Record<string, unknown>>();

const ok = (c: ConnectorCall) => c.status >= 200 && c.status < 300;
const plain = (c: ConnectorCall, conversation: string) => c.conversationId === conversation && c.body.textFormat === 'plain' && c.body.attachments === undefined;
/** The texts of an Adaptive Card's TextBlocks, one a line. */
const cardText = (node: unknown): string[] => {
  if (Array.isArray(node)) return node.flatMap(cardText);
  if (!node || typeof node !== 'object') return [];
  const { type, text } = node as { type?: unknown; text?: unknown };
  return [...(type === 'TextBlock' && typeof text === 'string' ? [text] : []), ...Object.values(node).flatMap(cardText)];
};

chatAdapterContract({
  name: 'teams',
  people,
  capabilities: { editInPlace: true, threads: true, buttons: true, redelivery: true, rateLimits: true },
  async setUp() {
    teams = await startFakeTeams();
    return {
      TEAMS_APP_ID: teams.appId,
      TEAMS_APP_PASSWORD: teams.appPassword,
      TEAMS_TENANT_ID: teams.tenantId,
      TEAMS_OPENID_METADATA_URL: teams.openIdMetadataUrl,
      TEAMS_AUTHORITY_URL: teams.authorityUrl,
    };
  },
  async start(world) {
    const adapter = await world.module.start(world.deps());
    const endpoint = () => `${world.base()}/teams/messages`;
    const deliver = async (said: Said) => {
      const response = await postActivity(endpoint(), teams, activities.get(said.id));
      expect(response.status).toBe(200);
    };
    const cards = (id: number) => teams.calls.filter((c) => ok(c) && c.kind !== 'update' && Array.isArray(c.body.attachments) && new RegExp(`^Deployment #${id} `).test(String(c.body.text)));
    const driver: ContractDriver = {
      async say(person, text, conversation = 'main') {
        const id = `contract-${randomUUID()}`;
        const conversationId = conversationOf(conversation);
        activities.set(id, messageActivity(teams, { text, id, conversationType: 'channel', conversationId, mention: true, ...who(person) }));
        const said = { person, conversation: conversationId, id, mark: Date.now() };
        await deliver(said);
        return said;
      },
      // Answers are plain replies in the conversation (a ChatPort post without a thread is a new message: not an answer).
      answers: (said) => teams.calls.filter((c) => ok(c) && plain(c, said.conversation) && c.kind === 'reply' && c.receivedAt >= said.mark).map((c) => String(c.body.text)),
      notices: (id) =>
        cards(id).map((card) => ({
          id: card.responseId as string,
          versions: [card, ...teams.calls.filter((u) => ok(u) && u.kind === 'update' && u.activityId === card.responseId)].map((c) => String(c.body.text)),
        })),
      output(id) {
        const [card] = cards(id);
        if (!card) return [];
        // Code blocks in the card's conversation after it: in its reply chain, or (wrongly) not.
        return teams.calls
          .filter((c) => ok(c) && c.conversationId === card.conversationId && c.receivedAt >= card.receivedAt && c.kind !== 'update' && String(c.body.text).startsWith('```') && (c.kind === 'send' || c.activityId === card.responseId))
          .map((c) => ({ replyTo: c.kind === 'reply' ? (c.activityId as string) : null, text: String(c.body.text) }));
      },
      async decide(person, decision, id) {
        // The card gets its Approve / Deny buttons (Action.Execute) once the approval request is recorded.
        await until(() => cards(id).some((card) => teams.calls.some((c) => ok(c) && (c === card || c.activityId === card.responseId) && JSON.stringify(c.body.attachments).includes('Action.Execute'))), `#${id}'s card with buttons`);
        const card = cards(id)[0] as ConnectorCall;
        const answer = await postActivity(endpoint(), teams, cardActionActivity(teams, { verb: decision, data: { deploymentId: id }, replyToId: card.responseId as string, conversationId: card.conversationId, ...who(person) }));
        expect(answer.status).toBe(200);
        // The clicker alone gets the refreshed card, with a line saying why when the click was refused.
        return { told: async () => cardText((answer.body as { value?: unknown }).value).join('\n') };
      },
      // Teams sends an activity again when it got no timely answer: the same activity id.
      redeliver: deliver,
      rateLimitNext: () => teams.failNext(1, 429, 1),
      sent: (conversation) => teams.calls.filter((c) => plain(c, conversation) && c.status !== 0).map((c) => ({ text: String(c.body.text), status: c.status, at: c.receivedAt })),
      posts: (conversation) => teams.calls.filter((c) => ok(c) && plain(c, conversation)).map((c) => String(c.body.text)),
    };
    return { adapter, driver };
  },
  async tearDown() {
    await teams?.close();
  },
});
