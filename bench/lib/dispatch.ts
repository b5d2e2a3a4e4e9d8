/**
 * Chat dispatch, in this process: Deckhand's dispatcher (addressing, the router over every command,
 * argument validation, usage errors and suggestions, the reply text) next to Hubot 14's
 * robot.receive with one respond listener per Deckhand command (hubot-deploy style regexes, each
 * replying through a do-nothing adapter). Both get the same messages: four addressed to the bot
 * ("deckhand whoami", a help topic, a usage error, a typo) and two ambient ones it must ignore.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { Bench } from 'tinybench';
import { createDeckhand, projectRoot } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { loadCommands } from '../../src/router/load-commands.js';
import { openStore } from '../../src/store/open-store.js';

export const dispatchTexts = ['deckhand whoami', 'deckhand help deploy', 'deckhand deploy', 'deckhand depoly hello', 'lunch at noon? the usual place', 'the deploy dashboard looks slow again'];

/** One per Deckhand command (commands/*.ts), in the style of hubot-deploy's listeners. */
const hubotListeners: RegExp[] = [
  /(approve|deny)\s+#?(\d+)$/i,
  /(deploy|noop)(!)?(?::(\S+))?\s+([-_.0-9a-z]+)(?:\/([^\s]+))?(?:\s+(?:to|in|on)\s+([-_.0-9a-z]+))?(\s+--dry-run)?$/i,
  /deploys\s+([-_.0-9a-z]+)(?:\s+in\s+(\S+))?$/i,
  /help(?:\s+(.+))?$/i,
  /(ack|resolve)\s+(\S+)(?:\s+(.+))?$/i,
  /lock(!)?\s+(\S+)(?:\s+(?!because\b)(\S+))?(?:\s+because\s+(.+))?$/i,
  /locks$/i,
  /holds$/i,
  /release hold\s+(\S+)(?:\s+to\s+(\S+))?$/i,
  /(?:who is on call|oncall)(?:\s+(.+))?$/i,
  /create release\s+(\S+)\s+(\S+)(?:\s+(.+))?$/i,
  /rollback\s+(\S+)(?:\s+in\s+(\S+))?$/i,
  /unlock\s+(\S+)(?:\s+(\S+))?$/i,
  /where can i deploy\s+(\S+)$/i,
  /whoami$/i,
];

export interface DispatchSide {
  /** Messages handled per second. */
  perSecond: number;
  /** Mean microseconds per message. */
  meanUs: number;
}

export interface DispatchResult {
  deckhand: DispatchSide;
  hubot: DispatchSide;
  commands: number;
  listeners: number;
  hubotVersion: string;
}

export async function compareDispatch(seconds: number): Promise<DispatchResult> {
  const commands = await loadCommands(path.join(projectRoot, 'dist/commands'));
  if (commands.length !== hubotListeners.length) {
    throw new Error(`Deckhand has ${commands.length} commands but the Hubot anchor ${hubotListeners.length} listeners: add or remove one in bench/lib/dispatch.ts`);
  }

  const store = await openStore('sqlite::memory:');
  const config = loadConfig({ fallbackPath: path.join(projectRoot, 'deckhand.example.yaml') });
  const deckhand = await createDeckhand({ config, store, logger: silentLogger, dataDir: path.join(projectRoot, 'data') });

  process.env.HUBOT_LOG_LEVEL = 'silent';
  const hubot = await import('hubot');
  class NullAdapter extends hubot.Adapter {
    override async send(): Promise<void> {}
    override async reply(): Promise<void> {}
    override async run(): Promise<void> {}
    override close(): void {}
  }
  const robot = new hubot.Robot('NullAdapter', false, config.bot.name);
  robot.adapter = new NullAdapter(robot);
  for (const regex of hubotListeners) robot.respond(regex, (res) => res.reply('ok'));
  const person = new hubot.User('U0PERSON', { name: 'person', room: 'C0BENCH' });

  let id = 0;
  let answered = 0;
  const bench = new Bench({ time: seconds * 1000, warmupTime: 300 });
  bench
    .add('deckhand', async () => {
      for (const text of dispatchTexts) {
        const reply = await deckhand.dispatcher.handle({ id: String(++id), user: 'U0PERSON', room: 'C0BENCH', text, isDirect: false, adapter: 'slack' });
        if (reply) answered++;
      }
    })
    .add('hubot', async () => {
      for (const text of dispatchTexts) await robot.receive(new hubot.TextMessage(person, text, String(++id)));
    });
  await bench.run();
  if (answered === 0) throw new Error('Deckhand answered none of the addressed messages: the dispatch comparison would measure nothing');

  const side = (name: string): DispatchSide => {
    const r = bench.tasks.find((t) => t.name === name)?.result as { latency?: { mean: number } } | undefined;
    if (!r?.latency) throw new Error(`no result for ${name}`);
    // From the mean time per batch of messages (tinybench's mean throughput averages per-sample rates, which the fast samples inflate).
    const meanUs = (r.latency.mean * 1000) / dispatchTexts.length;
    return { perSecond: 1e6 / meanUs, meanUs };
  };
  const result = { deckhand: side('deckhand'), hubot: side('hubot'), commands: commands.length, listeners: robot.listeners.length, hubotVersion: (createRequire(import.meta.url)('hubot/package.json') as { version: string }).version };
  robot.shutdown();
  await deckhand.close();
  return result;
}
