import { PassThrough } from 'node:stream';
import type { ChatAdapter } from '../../src/chat/chat-adapter.js';
import { until } from '../fixtures/in-process.js';
import { chatAdapterContract, type ContractDriver, type Person } from './chat-adapter-contract.js';

const people: Record<Person, string> = { alice: 'shell:alice', bob: 'shell:bob', carol: 'shell:carol' };

/**
 * The terminal: one real terminal adapter per person (DECKHAND_SHELL_USER), each started through the
 * registry with its own input and output streams (not a TTY: lines are written as they come), all
 * on the same Deckhand — as if three people ran `deckhand` on one store. Alice's is Deckhand's chat.
 */
interface Terminal {
  adapter: ChatAdapter;
  input: PassThrough;
  lines: string[];
  /** Commands typed so far (the adapter numbers its messages shell-1, shell-2, …). */
  typed: number;
  running: Promise<void>;
}
const terminals = new Map<Person, Terminal>();

/** An answer is a line of its own; notices are [deploy] / [lock] / [<channel>] lines, output lines are indented. */
const isAnswer = (line: string) => line !== '' && !line.startsWith('[') && !line.startsWith('  ');

chatAdapterContract({
  name: 'shell',
  people,
  capabilities: {
    editInPlace: { notApplicable: 'a terminal cannot change a line it has printed' },
    threads: { notApplicable: 'a terminal has no threads' },
    buttons: { notApplicable: 'a terminal has no buttons' },
    redelivery: { notApplicable: 'lines are read once from a stream; nothing delivers one twice' },
    rateLimits: { notApplicable: 'no platform between the bot and the terminal to limit it' },
  },
  async setUp() {
    return {};
  },
  async start(world) {
    for (const person of ['alice', 'bob', 'carol'] as const) {
      const input = new PassThrough();
      const output = new PassThrough();
      const lines: string[] = [];
      let partial = '';
      output.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
      });
      const deps = world.deps();
      const adapter = await world.module.start({ ...deps, env: { ...deps.env, DECKHAND_SHELL_USER: person }, stdio: { input, output } });
      expect(adapter.run).toBeDefined();
      const running = (adapter.run as NonNullable<ChatAdapter['run']>)((message) => deps.dispatcher.handle(message));
      terminals.set(person, { adapter, input, lines, typed: 0, running });
    }
    const terminal = (person: Person) => terminals.get(person) as Terminal;
    const alice = terminal('alice');
    const type = (person: Person, text: string) => {
      const t = terminal(person);
      const said = { person, conversation: 'shell', id: `shell-${++t.typed}`, mark: t.lines.length };
      t.input.write(`${text}\n`);
      return said;
    };
    const driver: ContractDriver = {
      say: async (person, text) => type(person, text),
      answers: (said) => terminal(said.person).lines.slice(said.mark).filter(isAnswer),
      // Every terminal prints every notice; alice's is read.
      notices: (id) =>
        alice.lines.flatMap((line, n) => (line.startsWith(`[deploy] #${id} `) ? [{ id: String(n), versions: [line] }] : [])),
      output: (id) => alice.lines.filter((line) => line.startsWith(`  #${id} | `)).map((text) => ({ replyTo: null, text })),
      async decide(person, decision, id) {
        const said = type(person, `${decision} ${id}`);
        return {
          told: async () => {
            await until(() => driver.answers(said).length > 0, `the answer to ${decision} ${id}`);
            return driver.answers(said)[0] as string;
          },
        };
      },
      posts: (conversation) => alice.lines.filter((line) => line.startsWith(`[${conversation}] `)).map((line) => line.slice(conversation.length + 3)),
    };
    return { adapter: alice.adapter, driver };
  },
  async tearDown() {
    // End of input: each terminal answers what it has and returns.
    for (const t of terminals.values()) t.input.end();
    await Promise.all([...terminals.values()].map((t) => t.running));
    await Promise.all([...terminals.values()].map((t) => t.adapter.stop()));
  },
});
