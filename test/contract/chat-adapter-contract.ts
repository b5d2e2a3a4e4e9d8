/**
 * The contract every chat adapter passes (issue 14; docs/decisions/021-chat-adapter-seam.md).
 *
 * The real Deckhand (createDeckhand on a SQLite file in a temp folder, its HTTP server on
 * 127.0.0.1:0) and the REAL adapter, started through the registry (adapters/index.ts) exactly as
 * main.ts starts it. A harness per platform (test/contract/<name>.contract.test.ts) drives it from
 * outside — signed HTTP events to Slack's route against a fake Web API, signed activities to Teams'
 * route against a fake Bot Connector, lines on the terminal's input — and reads what reached the
 * platform. The cases below say what must hold; a harness says what its platform can do
 * (capabilities), and a case a platform cannot do is reported as not applicable with the reason,
 * and checks the platform's own behaviour instead where it has one (one line per state on the
 * terminal instead of an edit in place).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chatAdapterModules, chatPlatforms, terminal } from '../../adapters/index.js';
import { createDeckhand, projectRoot, type Deckhand } from '../../src/app.js';
import type { ChatAdapter, ChatAdapterDeps, ChatAdapterModule } from '../../src/chat/chat-adapter.js';
import { loadEnv } from '../../src/config/env.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { DeckhandConfig } from '../../src/config/types.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { ChatMessage } from '../../src/router/types.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { until } from '../fixtures/in-process.js';

/** alice and bob may deploy; carol approves production (and is the only one who may). */
export type Person = 'alice' | 'bob' | 'carol';

/** Supported, or not, and why (the case's title says so: nothing is skipped silently). */
export type Capability = true | { notApplicable: string };

export interface Capabilities {
  /** A deployment's notices are one message, edited as it moves on. Else: one message per state. */
  editInPlace: Capability;
  /** The script's output goes in the thread (reply chain) of the deployment's message. Else: after it. */
  threads: Capability;
  /** Approve / Deny are buttons on a message. Else: the `approve <id>` / `deny <id>` commands. */
  buttons: Capability;
  /** The platform may deliver one event twice (retries): the adapter must run it once. */
  redelivery: Capability;
  /** The platform answers 429 with Retry-After: the adapter waits and retries, keeping the order. */
  rateLimits: Capability;
}

/** A message a person sent: the platform's conversation id (what ChatPort.post takes) and message id. */
export interface Said {
  person: Person;
  conversation: string;
  id: string;
  /** The harness's own mark of when it was sent (a time, a line count): answers(said) counts from it. */
  mark: number;
}

export interface Notice {
  /** The platform's message id (Slack ts, Teams activity id; the terminal: the line number). */
  id: string;
  /** Its text as posted, then after each edit, in order. */
  versions: string[];
}

export interface Sent {
  text: string;
  /** The HTTP status the platform answered (429 for a rate-limited attempt). */
  status: number;
  /** Date.now() when the platform got it. */
  at: number;
}

/** What a platform's harness provides; everything waits on what the local fakes recorded. */
export interface ContractDriver {
  /** Sends `text`, addressed to the bot, as `person`, in the named conversation (a logical name; default 'main'). */
  say(person: Person, text: string, conversation?: string): Promise<Said>;
  /** The bot's answers to commands in the conversation of `said` from when it was sent on, in the order the platform got them. */
  answers(said: Said): string[];
  /** The live messages about deployment #id (each with its versions), where the platform got them. */
  notices(deploymentId: number): Notice[];
  /** Posts of deployment #id's script output: the message they reply to (null: not threaded) and their text. */
  output(deploymentId: number): Array<{ replyTo: string | null; text: string }>;
  /** Approve / Deny deployment #id as `person` (a button, or the command); resolves with what the clicker alone was told, if anything. */
  decide(person: Person, decision: 'approve' | 'deny', deploymentId: number): Promise<{ told(): Promise<string> }>;
  /** Delivers `said` again, as the platform does when it retries (present only with the redelivery capability). */
  redeliver?(said: Said): Promise<void>;
  /** The platform's next call answers 429 with Retry-After: 1 (present only with the rateLimits capability). */
  rateLimitNext?(): void;
  /** Every message the bot sent into a conversation (answers and posts), in order, with status and time (rateLimits capability). */
  sent?(conversation: string): Sent[];
  /** Every plain message the bot put into the conversation (answers and ChatPort posts), as the platform shows it. */
  posts(conversation: string): string[];
}

export interface ContractWorld {
  /** The module under test, from the registry. */
  module: ChatAdapterModule;
  /** What main.ts would hand the adapter (the dispatcher records what reaches it), with the platform's environment. */
  deps(overrides?: Partial<ChatAdapterDeps>): ChatAdapterDeps;
  /** http://127.0.0.1:<port>, once Deckhand listens (after start()). */
  base(): string;
  deckhand: Deckhand;
  store: SqliteStore;
}

export interface ContractHarness {
  /** The registry's name for the adapter. */
  name: string;
  /** The id the dispatcher must see for each person (U0ALICE, teams:aad-alice, shell:alice). */
  people: Record<Person, string>;
  capabilities: Capabilities;
  /** The platform's environment variables (pointing at the local fakes); the fakes start here. */
  setUp(): Promise<Record<string, string>>;
  /** Starts the adapter(s) through world.module (before Deckhand listens); resolves the adapter whose port is Deckhand's chat. */
  start(world: ContractWorld): Promise<{ adapter: ChatAdapter; driver: ContractDriver }>;
  /** Stops what setUp and start started (after the adapter's stop()). */
  tearDown(): Promise<void>;
}

const contractConfig = (people: Record<Person, string>): DeckhandConfig =>
  parseConfig(
    `
environments:
  staging: { aliases: [stg] }
  production: { aliases: [prod], protected: true, approvers: ["${people.carol}"] }
apps:
  hello:
    provider: { script: scripts/hello-deploy.sh, timeout: 30s }
    environments: [staging, production]
    default: { ref: main, environment: staging }
roles:
  deployers: { members: ["${people.alice}", "${people.bob}"], may: [deploy:*, lock:*] }
`,
    path.join(projectRoot, 'deckhand.contract.yaml'),
    {},
  );

const label = (name: string, capability: Capability, yes: string, no: string) => (capability === true ? yes : `${no} — ${name}: ${capability.notApplicable}`);

export function chatAdapterContract(harness: ContractHarness): void {
  describe(`chat adapter contract: ${harness.name}`, () => {
    let deckhand: Deckhand;
    let store: SqliteStore;
    let adapter: ChatAdapter;
    let driver: ContractDriver;
    /** Every message that reached the dispatcher, in order. */
    const dispatched: ChatMessage[] = [];
    const { capabilities: can, people } = harness;

    beforeAll(async () => {
      const platformEnv = await harness.setUp();
      const env = loadEnv({ ...platformEnv, DATABASE_URL: 'sqlite::memory:' });
      const module = chatAdapterModules[harness.name];
      if (!module) throw new Error(`the registry (adapters/index.ts) has no adapter named ${harness.name}`);
      const dataDir = mkdtempSync(path.join(os.tmpdir(), `deckhand-contract-${harness.name}-`));
      store = new SqliteStore(path.join(dataDir, 'deckhand.db'));
      await store.migrate();
      const config = contractConfig(people);
      let base = '';
      deckhand = await createDeckhand({ config, store, logger: silentLogger, dataDir, commandsDir: path.join(projectRoot, 'commands'), jobPollMs: 20, publicUrl: () => base });
      const dispatcher = {
        ...deckhand.dispatcher,
        handle: (message: ChatMessage) => {
          dispatched.push(message);
          return deckhand.dispatcher.handle(message);
        },
      };
      const deps = (overrides: Partial<ChatAdapterDeps> = {}): ChatAdapterDeps => ({
        env,
        http: deckhand.http,
        dispatcher,
        actions: deckhand.actions,
        bus: deckhand.bus,
        store,
        config,
        logger: silentLogger,
        clock: systemClock,
        publicUrl: () => base,
        metrics: deckhand.metrics,
        tuning: { intervalMs: 20, outputFlushMs: 50, retryDelayMs: 50 },
        ...overrides,
      });
      // The registry would start this one and no other for this environment (the terminal: when no platform is configured).
      expect(chatPlatforms.filter((m) => m.configured(env)).map((m) => m.name)).toEqual(module === terminal ? [] : [harness.name]);
      ({ adapter, driver } = await harness.start({ module, deps, base: () => base, deckhand, store }));
      deckhand.setChat(adapter.chat);
      base = await deckhand.http.listen({ port: 0, host: '127.0.0.1' });
      deckhand.startBackground();
    });

    afterAll(async () => {
      await deckhand?.close(async () => {
        await adapter?.stop();
      });
      await harness.tearDown();
    });

    /** Messages with this text that reached the dispatcher since `from`. */
    const reached = (from: number, text: string) => dispatched.slice(from).filter((m) => m.text.trim() === text);
    /** Logical conversation names by platform id (for a later command in the same conversation). */
    const names = new Map<string, string>();
    const say = async (person: Person, text: string, conversation = 'main') => {
      const said = await driver.say(person, text, conversation);
      names.set(said.conversation, conversation);
      return said;
    };
    /**
     * Waits for `count` answers since `said`, then sends a later command in the same conversation
     * (`locks`, whose answer no case's command gives) and waits for its answer: the conversation
     * keeps its order, so whatever else `said` set off came before it. Resolves the answers since
     * `said`, the fence's last.
     */
    const settle = async (said: Said, count: number): Promise<string[]> => {
      await until(() => driver.answers(said).length >= count, `${count} answers in ${said.conversation}: ${JSON.stringify(driver.answers(said))}`);
      const fence = await say(said.person, 'locks', names.get(said.conversation));
      await until(() => driver.answers(fence).some(isFence), 'the answer to a later "locks"');
      return driver.answers(said);
    };
    const seenDeployments = new Set<number>();
    /** The deployment that `said` asked for. */
    const deploymentAskedBy = async (said: Said): Promise<number> => {
      let id = 0;
      await until(async () => {
        const found = (await store.listDeployments({})).find((d) => d.origin?.messageId === said.id && d.origin.room === said.conversation && d.requestedBy === people[said.person]);
        if (found) id = found.id;
        return Boolean(found);
      }, `the deployment asked for by ${said.id} in ${said.conversation}`);
      seenDeployments.add(id);
      return id;
    };
    const finished = (id: number, state = 'succeeded') => until(async () => (await store.getDeployment(id))?.state === state, `deployment #${id} to be ${state}`, 20_000);

    test('(a) send: a command reaches the dispatcher once, as the person who sent it, and gets exactly one answer in the same conversation', async () => {
      const from = dispatched.length;
      const said = await say('alice', 'whoami');
      const answers = await settle(said, 1);
      const got = reached(from, 'whoami');
      // Once, as alice, in the conversation it was said in.
      expect(got.map((m) => ({ user: m.user, room: m.room, adapter: m.adapter }))).toEqual([
        { user: people.alice, room: said.conversation, adapter: harness.name },
      ]);
      // Its answer, then the fence's: nothing twice.
      expect(answers).toEqual([expect.stringMatching(new RegExp(`^You are ${escape(people.alice)}\\. Roles: deployers`)), fenceAnswer]);
    });

    test(label(harness.name, can.editInPlace, '(b) update in place: a deployment\'s notices are one message, edited as it moves on', '(b) update in place is not applicable: one message per state instead'), async () => {
      const said = await say('alice', 'deploy hello to staging');
      const id = await deploymentAskedBy(said);
      await finished(id);
      await until(() => (driver.notices(id).at(-1)?.versions.at(-1) ?? '').includes('succeeded'), `the notice of #${id} to say succeeded: ${JSON.stringify(driver.notices(id))}`);
      const notices = driver.notices(id);
      if (can.editInPlace === true) {
        expect(notices).toHaveLength(1);
        const versions = (notices[0] as Notice).versions;
        expect(versions.length).toBeGreaterThanOrEqual(2); // posted, then edited (queued → running → succeeded; edits may merge)
        expect(versions[0]).not.toMatch(/succeeded/);
        expect(versions.at(-1)).toMatch(new RegExp(`#${id}\\b.*succeeded`));
      } else {
        // One message per state, in order, never edited.
        expect(notices.every((n) => n.versions.length === 1)).toBe(true);
        const texts = notices.map((n) => n.versions[0] as string);
        expect(texts.map((t) => /queued|started|succeeded/.exec(t)?.[0])).toEqual(['queued', 'started', 'succeeded']);
        expect(texts.every((t) => t.includes(`#${id} hello/main to staging`))).toBe(true);
      }
    });

    test(label(harness.name, can.threads, '(c) thread reply: the deployment\'s output goes in the thread of its message', '(c) thread reply is not applicable: the output follows the notices, marked with the deployment'), async () => {
      const said = await say('alice', 'deploy hello to stg');
      const id = await deploymentAskedBy(said);
      await finished(id);
      await until(() => driver.output(id).some((o) => o.text.includes('Done.')), `the output of #${id}: ${JSON.stringify(driver.output(id))}`);
      const output = driver.output(id);
      const text = output.map((o) => o.text).join('\n');
      expect(text).toContain(`Deploying hello@main to staging (deployment #${id}, requested by ${people.alice})`);
      expect(text).toContain('Done.');
      if (can.threads === true) {
        const [notice] = driver.notices(id);
        expect(notice).toBeDefined();
        expect(output.map((o) => o.replyTo)).toEqual(output.map(() => notice?.id));
      } else {
        expect(output.map((o) => o.replyTo)).toEqual(output.map(() => null));
        expect(output.every((o) => o.text.includes(`#${id}`))).toBe(true);
      }
    });

    test(label(harness.name, can.buttons, '(d) buttons → action: Approve by a non-approver is refused with a message to them; by the approver it deploys', '(d) buttons are the approve / deny commands'), async () => {
      const said = await say('alice', 'deploy hello to production');
      const id = await deploymentAskedBy(said);
      await until(async () => (await store.approvalForDeployment(id))?.state === 'pending', `#${id} to wait for approval`);
      const refused = await driver.decide('bob', 'approve', id);
      expect(await refused.told()).toContain(`You (${people.bob}) can't approve deployments to production. Approvers: ${people.carol}.`);
      expect((await store.getDeployment(id))?.state).toBe('queued');
      expect((await store.approvalForDeployment(id))?.state).toBe('pending');

      await driver.decide('carol', 'approve', id);
      await finished(id);
      expect((await store.approvalForDeployment(id))).toMatchObject({ state: 'approved', decidedBy: people.carol });
    });

    test(label(harness.name, can.redelivery, '(e) dedupe: the same event delivered twice runs once and is answered once', '(e) dedupe is not applicable'), async () => {
      if (can.redelivery !== true) {
        // Nothing to run: the harness must not offer a redelivery the platform never does.
        expect(driver.redeliver).toBeUndefined();
        return;
      }
      const from = dispatched.length;
      const said = await say('alice', 'lock staging because dedupe check', 'dedupe');
      await (driver.redeliver as NonNullable<ContractDriver['redeliver']>)(said);
      await (driver.redeliver as NonNullable<ContractDriver['redeliver']>)(said);
      const answers = await settle(said, 1);
      expect(reached(from, 'lock staging because dedupe check')).toHaveLength(1);
      expect(answers).toEqual(['Locked staging because dedupe check.', fenceAnswer]);
      const unlock = await say('alice', 'unlock staging', 'dedupe');
      await until(() => driver.answers(unlock).some((a) => a.startsWith('Unlocked staging')), 'staging unlocked');
    });

    test(label(harness.name, can.rateLimits, '(f) rate limiting: a 429 with Retry-After is retried after the pause, and the conversation keeps its order', '(f) rate limiting is not applicable'), async () => {
      if (can.rateLimits !== true) {
        expect(driver.rateLimitNext).toBeUndefined();
        return;
      }
      const sent = driver.sent as NonNullable<ContractDriver['sent']>;
      // Nothing of the earlier cases is still on its way: their deployments, notices and output are done.
      for (const id of seenDeployments) {
        await finished(id);
        await until(() => driver.output(id).some((o) => o.text.includes('Done.')) && /succeeded/.test(driver.notices(id).at(-1)?.versions.at(-1) ?? ''), `#${id}'s last notice and output`);
      }
      // The platform's next call (the answer to this command) is refused with 429, Retry-After: 1.
      (driver.rateLimitNext as NonNullable<ContractDriver['rateLimitNext']>)();
      const first = await say('alice', 'whoami', 'rate');
      await until(() => sent(first.conversation).some((s) => s.status === 429), `a 429 in ${first.conversation}: ${JSON.stringify(sent(first.conversation))}`);
      // While the answer waits for its Retry-After, a second command in the same conversation.
      await say('alice', 'lock staging because rate check', 'rate');
      await until(() => driver.answers(first).length >= 2, `two answers in ${first.conversation}`);
      expect(driver.answers(first)).toEqual([expect.stringMatching(new RegExp(`^You are ${escape(people.alice)}`)), 'Locked staging because rate check.']);
      const attempts = sent(first.conversation);
      const limited = attempts.find((s) => s.status === 429) as Sent;
      const retried = attempts.find((s) => s.text === limited.text && s.status < 300) as Sent;
      expect(retried).toBeDefined();
      expect(retried.at - limited.at).toBeGreaterThanOrEqual(950); // Retry-After: 1 (s), honoured
      const unlock = await say('alice', 'unlock staging', 'rate');
      await until(() => driver.answers(unlock).some((a) => a.startsWith('Unlocked staging')), 'staging unlocked');
    }, 20_000);

    test('(g) reactions\' ChatPort: post reaches the platform, in the conversation named', async () => {
      // A conversation the bot has heard from (Teams can only post where an activity came from).
      const said = await say('alice', 'whoami', 'posts');
      await until(() => driver.answers(said).length >= 1, 'the answer');
      await adapter.chat.post(said.conversation, 'Reaction says: release 1.2.3 is out');
      const posted = () => driver.posts(said.conversation).filter((t) => t.includes('Reaction says: release 1.2.3 is out'));
      await until(() => posted().length >= 1, `the post in ${said.conversation}: ${JSON.stringify(driver.posts(said.conversation))}`);
      await settle(said, 1);
      expect(posted()).toHaveLength(1);
    });
  });
}

/** The answer to `locks` (the fence): nothing locked, or the list. */
const isFence = (answer: string) => answer === 'Nothing is locked.' || answer.startsWith('Locks:');
const fenceAnswer = expect.stringMatching(/^(Nothing is locked\.|Locks:)/);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
