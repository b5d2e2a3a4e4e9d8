/**
 * The chat adapters Deckhand can run, one folder each (docs/decisions/021-chat-adapter-seam.md).
 * A new platform is a folder with an index.ts exporting a ChatAdapterModule, one line here, and its
 * run of the contract suite (test/contract/). This file and the modules it lists are loaded on
 * every start: they import nothing heavy (each platform's code is loaded in its start()).
 */
import type { ChatAdapter, ChatAdapterDeps, ChatAdapterModule } from '../src/chat/chat-adapter.js';
import { shell } from './shell/index.js';
import { slack } from './slack/index.js';
import { teams } from './teams/index.js';

/** The chat platforms, in the order they start (Slack first: its port is the default of a chat step's `channel:`). */
export const chatPlatforms: readonly ChatAdapterModule[] = [slack, teams];

/** Started when no platform is configured. */
export const terminal: ChatAdapterModule = shell;

/** Every module by name (the contract suite starts them through here, as main does). */
export const chatAdapterModules: Readonly<Record<string, ChatAdapterModule>> = Object.fromEntries([...chatPlatforms, terminal].map((m) => [m.name, m]));

/**
 * Starts every configured platform, one after another (each registers its routes on the server,
 * which is not listening yet); the terminal when none is. When one fails to start, those already
 * started are stopped and the error is thrown.
 */
export async function startChatAdapters(deps: ChatAdapterDeps): Promise<ChatAdapter[]> {
  const chosen = chatPlatforms.filter((m) => m.configured(deps.env));
  const started: ChatAdapter[] = [];
  try {
    for (const module of chosen.length > 0 ? chosen : [terminal]) started.push(await module.start(deps));
  } catch (err) {
    await Promise.allSettled(started.map((a) => a.stop()));
    throw err;
  }
  return started;
}
