import type { FastifyInstance } from 'fastify';
import type { Readable, Writable } from 'node:stream';
import type { Actions } from '../actions/index.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Env } from '../config/env.js';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { Dispatcher } from '../router/dispatch.js';
import type { ChatMessage, ChatReply } from '../router/types.js';
import type { Store } from '../store/types.js';
import type { ChatPort } from './chat-port.js';

/**
 * The seam between Deckhand and a chat platform (issue 14; docs/decisions/021-chat-adapter-seam.md).
 *
 * Each platform is one folder under adapters/ whose index.ts exports a ChatAdapterModule; the
 * registry (adapters/index.ts) lists them and starts the configured ones. Nothing in src/ imports a
 * platform's code: main.ts reaches adapters/ through the registry only, and adapters reach Deckhand
 * through ChatAdapterDeps (the dispatcher for commands, the action layer for buttons, the event bus
 * for live notices, the store for what they remember).
 */

/** What Deckhand hands every adapter when it starts it. */
export interface ChatAdapterDeps {
  /** The validated environment: each adapter reads its own variables (SLACK_*, TEAMS_*, …). */
  env: Env;
  /** Deckhand's HTTP server, not yet listening: an adapter registers its inbound routes here. */
  http: FastifyInstance;
  /** Commands: a ChatMessage in, the answer (or null: not addressed to the bot) out. */
  dispatcher: Dispatcher;
  /** For buttons (Approve / Deny, incident Acknowledge / Resolve), as the person who clicked. */
  actions: Actions;
  /** Deployment, approval and incident events, and deployments' output lines, for live notices. */
  bus: EventBus;
  store: Store;
  config: DeckhandConfig;
  logger: Logger;
  clock: Clock;
  /** Deckhand's public base URL, for log links (known once the server listens: resolve it late). */
  publicUrl: () => string;
  /** Counts the platform's API calls (GET /metrics). */
  metrics?: { onApiRequest(service: 'slack', method: string, status: number): void } | undefined;
  /** The terminal's streams; default the process's stdin / stdout. */
  stdio?: { input: Readable; output: Writable } | undefined;
  /** Pauses that tests shorten; production leaves them unset (each adapter's defaults). */
  tuning?: ChatAdapterTuning | undefined;
}

export interface ChatAdapterTuning {
  /** Pause between messages to one conversation (Slack: about one a second). */
  intervalMs?: number;
  /** How often a running deployment's buffered output is posted. */
  outputFlushMs?: number;
  /** Pause before retrying a failed call that had no Retry-After. */
  retryDelayMs?: number;
}

/** A started adapter. */
export interface ChatAdapter {
  /** The module's name: `slack`, `teams`, `shell`; a reaction's `chat: { <name>: … }` picks the port by it. */
  readonly name: string;
  /** For the "deckhand started" log line, e.g. `slack (http)`. */
  readonly label: string;
  /** Reactions' and the API's messages; goes through the adapter's own per-conversation queue. */
  readonly chat: ChatPort;
  /**
   * The line printed once Deckhand listens at `address` (tests and people look for it): a chat
   * server's goes to stderr; the terminal's, which is the conversation, to its output.
   */
  describe(address: string): string;
  /**
   * Only the terminal: runs the conversation in this process (reads commands until the end of
   * input; resolves once the last one is answered). A chat server has none: it is reached from
   * outside, so Deckhand listens on all interfaces when one runs.
   */
  run?(handle: (message: ChatMessage) => Promise<ChatReply | null>): Promise<void>;
  /** Stops listening to events and sends what is queued (called before the store closes). */
  stop(): Promise<void>;
}

/**
 * What adapters/<name>/index.ts exports. Keep the file cheap to import: it is loaded on every start
 * whether the platform is configured or not, so the platform's libraries (Bolt, jose, …) are
 * imported inside start(), not at the top.
 */
export interface ChatAdapterModule {
  readonly name: string;
  /** Whether the environment asks for this platform (its credentials are set). */
  configured(env: Env): boolean;
  start(deps: ChatAdapterDeps): Promise<ChatAdapter>;
}
