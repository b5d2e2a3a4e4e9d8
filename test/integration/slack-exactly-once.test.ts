import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { startSlackAdapter, type SlackAdapter } from '../../adapters/slack/slack-adapter.js';
import { createDeckhand, projectRoot, type Deckhand } from '../../src/app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import type { Job } from '../../src/core/model.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import { stepRunId } from '../../src/reactions/engine.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';

/**
 * A reaction's chat step on Slack, re-run after a kill -9 at each point of its way: the real
 * engine, Slack adapter (real WebClient, channel queue) and SQLite store against the fake Slack.
 * The state a kill leaves is made exactly — the step runs, then what the killed process would
 * not have written yet is taken out of the database — and the job's next attempt runs. Slack must
 * end up with the message once.
 */
describe('a reaction step\'s chat message on Slack is posted exactly once, whatever a kill -9 cut short', () => {
  let slack: FakeSlack;
  let deckhand: Deckhand;
  let adapter: SlackAdapter;
  let store: SqliteStore;
  let dbFile: string;
  let logged = '';
  let now = Date.now();
  let n = 0;

  beforeAll(async () => {
    slack = await startFakeSlack();
    const root = mkdtempSync(path.join(os.tmpdir(), 'deckhand-once-'));
    const reactions = path.join(root, 'reactions');
    mkdirSync(reactions);
    writeFileSync(path.join(reactions, 'say.yaml'), 'on: { webhook: say, auth: { api_key: "${secret.KEY}" } }\ndo:\n  - chat: { channel: "{{ payload.channel }}", text: "said {{ payload.n }}" }\n');
    writeFileSync(path.join(reactions, 'reply.yaml'), 'on: { webhook: reply, auth: { api_key: "${secret.KEY}" } }\ndo:\n  - chat: { channel: "{{ payload.channel }}", thread: "{{ payload.thread }}", text: "replied {{ payload.n }}" }\n');
    const config = parseConfig('environments: { staging: {} }\napps:\n  hello: { provider: { script: scripts/hello-deploy.sh }, environments: [staging] }\nroles: {}\n', path.join(projectRoot, 'deckhand.once-test.yaml'), {});
    dbFile = path.join(root, 'deckhand.db');
    store = new SqliteStore(dbFile);
    await store.migrate();
    const logger = createLogger('info', new Writable({ write: (chunk, _enc, done) => void ((logged += String(chunk)), done()) }));
    deckhand = await createDeckhand({
      config,
      store,
      logger,
      dataDir: root,
      commandsDir: path.join(projectRoot, 'commands'),
      reactions: loadReactions(reactions, { KEY: 'once-test-key-0123456789' }).reactions,
      reactionsBaseDir: root,
    });
    adapter = await startSlackAdapter({
      botToken: slack.workspace.botToken,
      signingSecret: 'once-signing-secret-0123456789',
      apiUrl: slack.apiUrl,
      slashCommand: '/deckhand',
      http: deckhand.http,
      dispatcher: deckhand.dispatcher,
      actions: deckhand.actions,
      bus: deckhand.bus,
      store,
      config,
      logger,
      clock: systemClock,
      channelIntervalMs: 10,
    });
    deckhand.setChat(adapter.chat);
    // No worker: the test runs each attempt of the job itself.
  });
  afterAll(async () => {
    await adapter?.stop();
    await deckhand?.close();
    await slack?.close();
  });

  /** The job of one matched reaction, as the engine enqueues it. */
  async function reactionJob(reaction: string, payload: Record<string, unknown>): Promise<Job> {
    n += 1;
    const job = await store.enqueueJob({ type: 'reaction', key: `test:${reaction}:${n}`, payload: { reaction, context: { payload: { n, ...payload } }, nonce: `nonce-${now}-${n}` }, runAt: new Date(now).toISOString() });
    return job!;
  }

  /** Claims the job as a worker would (each claim counts an attempt; a lease of 1 s). */
  async function attempt(job: Job): Promise<Job> {
    now += 5_000; // past the last attempt's lease
    const claimed = await store.claimJob('worker', new Date(now).toISOString(), 1_000);
    expect(claimed?.id).toBe(job.id);
    return claimed!;
  }

  /** Runs one attempt of the job, then completes it when it was the last. */
  const run = async (job: Job) => deckhand.reactions.handleRun(await attempt(job));
  const finish = (job: Job) => store.completeJob(job.id, 'worker', new Date(now).toISOString());

  /** What the killed process never wrote: the step's done mark, and (sql) more. */
  function killedBefore(job: Job, ...sql: string[]): void {
    const db = new Database(dbFile);
    try {
      db.prepare("DELETE FROM seen_keys WHERE scope = 'reaction-step' AND key = ?").run(`${job.id}:0`);
      for (const statement of sql) db.prepare(statement).run({ key: stepRunId(job, 0) });
    } finally {
      db.close();
    }
  }
  /** The message's ts, as the killed process had not recorded it: only the intent is left. */
  const tsNotRecorded = "UPDATE message_refs SET ts = '' WHERE kind = 'reaction-step' AND key = @key";

  const postsOf = (job: Job) => slack.callsTo('chat.postMessage').filter((c) => (c.body.metadata as { event_payload?: { run_id?: string } } | undefined)?.event_payload?.run_id === stepRunId(job, 0));
  const messagesOf = (job: Job) => slack.messagesWithMetadata('deckhand_step', 'run_id', stepRunId(job, 0));
  const lookups = (channel: string) => slack.callsTo('conversations.history').filter((c) => c.body.channel === channel);

  test('posted with the step\'s run id as metadata; its ts recorded', async () => {
    const job = await reactionJob('say', { channel: 'C0FIRST' });
    await run(job);
    expect(messagesOf(job)).toEqual([expect.objectContaining({ channel: 'C0FIRST', text: 'said 1', metadata: { event_type: 'deckhand_step', event_payload: { run_id: stepRunId(job, 0) } } })]);
    expect(await store.findMessage('reaction-step', stepRunId(job, 0), 'slack')).toMatchObject({ channel: 'C0FIRST', ts: messagesOf(job)[0]!.ts });
    // The first run has no reason to look.
    expect(lookups('C0FIRST')).toEqual([]);
    await finish(job);
  });

  test('killed after Slack stored the message, before its ts and the step were recorded: the re-run finds it in the channel and posts nothing', async () => {
    slack.addUserMessage('C0SECOND', { user: 'U0ALICE', text: 'chatter before' });
    const job = await reactionJob('say', { channel: 'C0SECOND' });
    await run(job);
    const [message] = messagesOf(job);
    // Newer messages by others on top, so the search reads past them.
    for (let i = 0; i < 3; i++) slack.addUserMessage('C0SECOND', { user: 'U0ALICE', text: `chatter ${i}` });
    killedBefore(job, tsNotRecorded);

    await run(job);
    expect(postsOf(job)).toHaveLength(1);
    expect(messagesOf(job)).toHaveLength(1);
    const [lookup] = lookups('C0SECOND');
    expect(lookup?.body).toMatchObject({ channel: 'C0SECOND', include_all_metadata: 'true' });
    // From a little before the intent: not the whole history.
    expect(Number(lookup?.body.oldest)).toBeGreaterThan(Number(message!.ts) - 600);
    expect(Number(lookup?.body.oldest)).toBeLessThan(Number(message!.ts));
    expect(await store.findMessage('reaction-step', stepRunId(job, 0), 'slack')).toMatchObject({ ts: message!.ts });
    expect(await store.isSeen('reaction-step', `${job.id}:0`)).toBe(true);
    expect(logged).toContain('the message of a re-run reaction step is already in the channel; not posted again');
    await finish(job);
  });

  test('the same in a thread: the re-run looks in the thread (conversations.replies)', async () => {
    const parent = slack.addUserMessage('C0THREAD', { user: 'U0ALICE', text: 'deploying' });
    const job = await reactionJob('reply', { channel: 'C0THREAD', thread: parent });
    await run(job);
    expect(messagesOf(job)).toEqual([expect.objectContaining({ thread_ts: parent })]);
    killedBefore(job, tsNotRecorded);
    await run(job);
    expect(postsOf(job)).toHaveLength(1);
    expect(slack.callsTo('conversations.replies').filter((c) => c.body.ts === parent)).toHaveLength(1);
    await finish(job);
  });

  test('killed after the ts was recorded, before the step was: the re-run posts nothing and does not look', async () => {
    const job = await reactionJob('say', { channel: 'C0THIRD' });
    await run(job);
    killedBefore(job);
    await run(job);
    expect(postsOf(job)).toHaveLength(1);
    expect(lookups('C0THIRD')).toEqual([]);
    await finish(job);
  });

  test('killed after the intent, before the message went out: the re-run looks, does not find it, and posts it', async () => {
    const job = await reactionJob('say', { channel: 'C0FOURTH' });
    await run(job);
    // As if the message never went out: gone from Slack, only the intent recorded.
    const [posted] = messagesOf(job);
    const channel = slack.messages('C0FOURTH');
    channel.splice(channel.indexOf(posted!), 1);
    expect(messagesOf(job)).toEqual([]);
    killedBefore(job, tsNotRecorded);
    await run(job);
    expect(lookups('C0FOURTH')).toHaveLength(1);
    expect(messagesOf(job)).toHaveLength(1);
    expect(await store.findMessage('reaction-step', stepRunId(job, 0), 'slack')).toMatchObject({ ts: messagesOf(job)[0]!.ts });
    await finish(job);
  });

  test('Slack stored the message and the answer never came (connection dropped): the retry looks first, one message', async () => {
    const job = await reactionJob('say', { channel: 'C0FIFTH' });
    slack.failAfterNext('chat.postMessage', { drop: true });
    await run(job);
    expect(postsOf(job).map((c) => c.response?.status)).toEqual([0]);
    expect(messagesOf(job)).toHaveLength(1);
    expect(lookups('C0FIFTH')).toHaveLength(1);
    expect(await store.findMessage('reaction-step', stepRunId(job, 0), 'slack')).toMatchObject({ ts: messagesOf(job)[0]!.ts });
    await finish(job);
  });

  test('a rate-limited search waits and tries again', async () => {
    const job = await reactionJob('say', { channel: 'C0SIXTH' });
    await run(job);
    killedBefore(job, tsNotRecorded);
    slack.failNext('conversations.history', { status: 429, retryAfter: 1 });
    await run(job);
    expect(lookups('C0SIXTH').map((c) => c.response?.status)).toEqual([429, 200]);
    expect(postsOf(job)).toHaveLength(1);
    await finish(job);
  });

  test('without the history scope the re-run posts again (at least once) and says why, once', async () => {
    for (let i = 0; i < 2; i++) {
      const job = await reactionJob('say', { channel: 'C0SEVENTH' });
      await run(job);
      killedBefore(job, tsNotRecorded);
      slack.failNext('conversations.history', { error: 'missing_scope', needed: 'channels:history', provided: 'chat:write' });
      await run(job);
      expect(postsOf(job)).toHaveLength(2);
      await finish(job);
    }
    expect(logged.split('add the channels:history and groups:history scopes')).toHaveLength(2);
  });
});
