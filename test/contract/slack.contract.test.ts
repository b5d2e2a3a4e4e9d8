import { approveActionId, denyActionId } from '../../adapters/slack/approval-blocks.js';
import { startFakeSlack, type FakeSlack, type RecordedCall } from '../fakes/slack/fake-slack.js';
import { appMentionRequest, blockActionsRequest, postToBolt } from '../fakes/slack/signed-request.js';
import { until } from '../fixtures/in-process.js';
import { chatAdapterContract, type ContractDriver, type Person, type Said } from './chat-adapter-contract.js';

const secret = 'contract-signing-secret-0123456789';
const people: Record<Person, string> = { alice: 'U0ALICE', bob: 'U0BOB', carol: 'U0CAROL' };
const channelOf = (name: string) => `C0${name.toUpperCase()}`;

/**
 * Slack in HTTP mode: the real Bolt App on Deckhand's server (POST /slack/events, signed with the
 * signing secret), answering through the fake Web API (test/fakes/slack), which records every call.
 */
let slack: FakeSlack;
const mentions = new Map<string, { channel: string; user: string; text: string }>();

const ok = (c: RecordedCall) => c.response?.status === 200 && (c.response.body as { ok?: unknown }).ok === true;
const posts = () => slack.callsTo('chat.postMessage');
/** A plain message in the channel itself: an answer, or a ChatPort post (no blocks, not in a thread). */
const plain = (c: RecordedCall, channel: string) => c.body.channel === channel && c.body.blocks === undefined && c.body.thread_ts === undefined;
const tsOf = (c: RecordedCall) => String((c.response?.body as { ts?: unknown }).ts);

chatAdapterContract({
  name: 'slack',
  people,
  capabilities: { editInPlace: true, threads: true, buttons: true, redelivery: true, rateLimits: true },
  async setUp() {
    slack = await startFakeSlack();
    for (const name of ['main', 'dedupe', 'rate', 'posts']) slack.addChannel(channelOf(name), { name });
    for (const id of Object.values(people)) slack.addUser({ id });
    return { SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl };
  },
  async start(world) {
    const adapter = await world.module.start(world.deps());
    const events = () => `${world.base()}/slack/events`;
    const deliver = async (said: Said, headers: Record<string, string> = {}) => {
      const m = mentions.get(said.id) as { channel: string; user: string; text: string };
      const response = await postToBolt(events(), secret, appMentionRequest({ ...m, ts: said.id }), headers);
      expect(response.status).toBe(200);
    };
    const noticePosts = (id: number) => posts().filter((c) => ok(c) && c.body.blocks !== undefined && new RegExp(`^Deployment #${id} `).test(String(c.body.text)) && !/needs approval$/.test(String(c.body.text)));
    const driver: ContractDriver = {
      async say(person, text, conversation = 'main') {
        const channel = channelOf(conversation);
        const full = `<@${slack.workspace.botUserId}> ${text}`;
        const ts = slack.addUserMessage(channel, { user: people[person], text: full });
        mentions.set(ts, { channel, user: people[person], text: full });
        const said = { person, conversation: channel, id: ts, mark: Date.now() };
        await deliver(said);
        return said;
      },
      answers: (said) => posts().filter((c) => ok(c) && plain(c, said.conversation) && c.at >= said.mark).map((c) => String(c.body.text)),
      notices: (id) =>
        noticePosts(id).map((post) => ({
          id: tsOf(post),
          versions: [post, ...slack.callsTo('chat.update').filter((u) => ok(u) && u.body.ts === tsOf(post))].map((c) => String(c.body.text)),
        })),
      output(id) {
        const [notice] = noticePosts(id);
        if (!notice) return [];
        // Code blocks in the deployment's channel after its message: in its thread, or (wrongly) not.
        return posts()
          .filter((c) => ok(c) && c.body.channel === notice.body.channel && c.at >= notice.at && String(c.body.text).startsWith('```') && (c.body.thread_ts === tsOf(notice) || c.body.thread_ts === undefined))
          .map((c) => ({ replyTo: c.body.thread_ts === undefined ? null : String(c.body.thread_ts), text: String(c.body.text) }));
      },
      async decide(person, decision, id) {
        let request: RecordedCall | undefined;
        await until(() => (request = posts().find((c) => ok(c) && JSON.stringify(c.body.blocks ?? null).includes(`"action_id":"${approveActionId}"`) && JSON.stringify(c.body.blocks).includes(`"value":"${id}"`))) !== undefined, `the approval message of #${id}`);
        const message = request as RecordedCall;
        const blocks = message.body.blocks as Array<{ type: string; block_id?: string }>;
        const blockId = blocks.find((b) => b.type === 'actions')?.block_id ?? '';
        const mark = Date.now();
        const response = await postToBolt(
          events(),
          secret,
          blockActionsRequest({ userId: people[person], channelId: String(message.body.channel), message: { ts: tsOf(message) }, actions: [{ action_id: decision === 'approve' ? approveActionId : denyActionId, block_id: blockId, value: String(id) }] }),
        );
        expect(response.status).toBe(200);
        // Only the person who clicked is told why not: an ephemeral message.
        return { told: async () => String((await slack.waitForCall('chat.postEphemeral', (c) => c.body.user === people[person] && c.at >= mark, 10_000)).body.text) };
      },
      // Slack retries an event it got no timely answer for, saying so in headers.
      redeliver: (said) => deliver(said, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' }),
      rateLimitNext: () => slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 }),
      sent: (channel) => posts().filter((c) => plain(c, channel) && c.response !== undefined).map((c) => ({ text: String(c.body.text), status: c.response?.status ?? 0, at: c.at })),
      posts: (channel) => posts().filter((c) => ok(c) && plain(c, channel)).map((c) => String(c.body.text)),
    };
    return { adapter, driver };
  },
  async tearDown() {
    await slack?.close();
  },
});
