/**
 * A fake Slack (Web API + Socket Mode) on 127.0.0.1 for tests. Point the real clients at it:
 *
 *   const fake = await startFakeSlack();
 *   const client = new WebClient(fake.workspace.botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
 *   const app = new App({ token, appToken, socketMode: true, clientOptions: { slackApiUrl: fake.apiUrl } });
 *
 * Like Slack, every answer is HTTP 200 with `{ ok: false, error }` on failure, except rate limiting
 * (HTTP 429 + Retry-After) and injected server errors.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EphemeralMessage, FakeChannel, FakeUser, StoredMessage } from './message-store.js';
import { MessageStore } from './message-store.js';
import { Faults, injectedAnswer, type AfterEffectFault, type Answer, type InjectedFailure, type RateLimitOptions } from './faults.js';
import { BadRequestBody, readArgs, tokenOf } from './request-body.js';
import { FakeSocketMode } from './socket-mode.js';
import { methods, tokenKindFor, type MethodContext, type SlackResponse, type Workspace } from './web-api.js';

export type { AfterEffectFault, InjectedFailure, RateLimitOptions } from './faults.js';
export type { EnvelopeInput, SocketAck } from './socket-mode.js';
export type { EphemeralMessage, FakeChannel, FakeUser, Reaction, StoredMessage } from './message-store.js';
export type { Workspace } from './web-api.js';

export interface FakeSlackOptions {
  botToken?: string;
  appToken?: string;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  appId?: string;
}

export interface RecordedCall {
  method: string;
  /** The bearer token (or `token` argument); null when none was sent. */
  token: string | null;
  /** Decoded arguments (JSON-valued form fields such as `blocks` are parsed; `token` is removed). */
  body: Record<string, unknown>;
  at: number;
  /** Filled in once the fake has answered (status 0 = connection dropped on purpose). */
  response?: { status: number; body: unknown };
  /** Set once the method has done its work (a message is stored), which may be before it answers. */
  done?: true;
  /** The tag of the URL the client was given (apiUrlFor), if any: which client called. */
  via?: string;
}

interface CallWaiter {
  matches: (call: RecordedCall) => boolean;
  settle: (outcome: RecordedCall | Error) => void;
}

export class FakeSlack {
  readonly calls: RecordedCall[] = [];
  readonly socket: FakeSocketMode;
  readonly workspace: Workspace;
  private readonly store = new MessageStore();
  private readonly faults = new Faults();
  private waiters: CallWaiter[] = [];
  private readonly server: Server;
  private port = 0;

  private constructor(options: FakeSlackOptions) {
    this.workspace = {
      botToken: options.botToken ?? 'xoxb-fake-bot-token',
      appToken: options.appToken ?? 'xapp-1-fake-app-token',
      botUserId: options.botUserId ?? 'UDECKHAND',
      botId: options.botId ?? 'BDECKHAND',
      teamId: options.teamId ?? 'T0DECKHAND',
      appId: options.appId ?? 'A123',
    };
    this.store.setUser({
      id: this.workspace.botUserId,
      name: 'deckhand',
      real_name: 'Deckhand',
      display_name: 'deckhand',
      tz: 'UTC',
      is_bot: true,
    });
    this.socket = new FakeSocketMode(this.workspace.appId, () => `ws://127.0.0.1:${this.port}`);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake-slack crashed: ${String(error)}`);
      });
    });
    this.server.on('upgrade', (req, socket, head) => this.socket.handleUpgrade(req, socket, head));
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(0, '127.0.0.1', resolve);
    });
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** Pass as `slackApiUrl`. WebClient appends the method name directly, so the trailing slash matters. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** The same Web API under a URL of its own: calls made through it are recorded with `via: tag` (one per process of a test). */
  apiUrlFor(tag: string): string {
    return `http://127.0.0.1:${this.port}/via/${encodeURIComponent(tag)}/api/`;
  }

  // ---- recorded calls --------------------------------------------------------------------------

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first answered call to `method` matching `predicate`, past or future. */
  waitForCall(method: string, predicate: (call: RecordedCall) => boolean = () => true, timeoutMs = 2000): Promise<RecordedCall> {
    const matches = (call: RecordedCall) => call.method === method && predicate(call);
    const done = this.calls.find((c) => c.response !== undefined && matches(c));
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const waiter: CallWaiter = {
        matches,
        settle: (outcome) => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        },
      };
      const timer = setTimeout(() => waiter.settle(new Error(this.describeTimeout(method, timeoutMs))), timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private describeTimeout(method: string, timeoutMs: number): string {
    const lines = this.calls.map((c) => {
      const body = JSON.stringify(c.body);
      return `  ${c.method} ${body.length > 200 ? `${body.slice(0, 200)}…` : body} -> ${JSON.stringify(c.response?.body ?? 'pending')}`;
    });
    return `waitForCall('${method}') found no matching call within ${timeoutMs}ms. Recorded calls (${this.calls.length}):\n${lines.join('\n') || '  (none)'}`;
  }

  // ---- workspace state -------------------------------------------------------------------------

  /** Top-level messages in a channel, oldest first; thread replies hang off `replies`. */
  messages(channel: string): StoredMessage[] {
    return this.store.topLevel(channel);
  }

  /** A message or thread reply by ts. */
  message(channel: string, ts: string): StoredMessage | undefined {
    return this.store.find(channel, ts);
  }

  ephemeralMessages(channel: string): EphemeralMessage[] {
    return this.store.ephemeralsIn(channel);
  }

  /** Records a message "written by a human", so the bot can react to / reply under it. Returns its ts. */
  addUserMessage(channel: string, message: { user: string; text: string; thread_ts?: string }): string {
    const ts = this.store.nextTs();
    this.store.add({
      channel,
      ts,
      ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
      text: message.text,
      blocks: undefined,
      attachments: undefined,
      user: message.user,
      reactions: [],
      replies: [],
      edits: [],
      raw: { ...message },
    });
    return ts;
  }

  /** Registers a channel; with `isMember: false` chat.postMessage fails `not_in_channel` until conversations.join. */
  addChannel(id: string, channel: { name: string; isPrivate?: boolean; isMember?: boolean }): void {
    this.store.setChannel({
      id,
      name: channel.name,
      isPrivate: channel.isPrivate ?? false,
      isIm: false,
      isMember: channel.isMember ?? true,
    } satisfies FakeChannel);
  }

  /** Registers a user profile for users.info (unregistered U... ids get a synthesized one). */
  addUser(user: Pick<FakeUser, 'id'> & Partial<FakeUser>): void {
    const name = user.name ?? user.id.toLowerCase();
    this.store.setUser({
      id: user.id,
      name,
      real_name: user.real_name ?? name,
      display_name: user.display_name ?? name,
      tz: user.tz ?? 'UTC',
      is_bot: user.is_bot ?? false,
    });
  }

  // ---- fault injection -------------------------------------------------------------------------

  /** The next `times` calls to `method` ('*' = any method) get `failure` instead of a normal answer. */
  failNext(method: string, failure: InjectedFailure, times = 1): void {
    this.faults.failNext(method, failure, times);
  }

  /** Enables (or with null, disables) per-channel HTTP 429s for `method` once a channel exceeds the budget. */
  rateLimit(method: string, options: RateLimitOptions | null): void {
    this.faults.rateLimit(method, options);
  }

  /** Delays every answer to `method` ('*' = any method) by `ms`; 0 removes the delay. */
  delay(method: string, ms: number): void {
    this.faults.delay(method, ms);
  }

  /**
   * The next `times` calls to `method` do their work (a message is stored) and then the connection
   * is dropped without an answer (`{ drop: true }`), or the answer waits `stallMs` first: the client
   * cannot tell whether its call took effect — the window a kill -9 or a retry lands in.
   */
  failAfterNext(method: string, fault: AfterEffectFault, times = 1): void {
    this.faults.failAfterNext(method, fault, times);
  }

  /**
   * Until the returned release() is called, every call to `method` does its work (the message is
   * stored, the call marked `done`) and then waits for it before answering: a process killed now
   * has done the effect and never heard so.
   */
  holdAnswers(method: string): () => void {
    return this.faults.holdAnswers(method);
  }

  /** Every successful call to `method` does its work at once and answers `ms` later (0 stops it). */
  stallAnswers(method: string, ms: number): void {
    this.faults.stallAnswers(method, ms);
  }

  /** Messages carrying metadata of `eventType` whose payload's `key` is `value`, in every channel (threads too). */
  messagesWithMetadata(eventType: string, key: string, value: unknown): StoredMessage[] {
    return this.store.all().filter((m) => m.metadata?.event_type === eventType && m.metadata.event_payload[key] === value);
  }

  /** Every message (thread replies too) carrying metadata of `eventType`, by the payload's `key`: how many there are of each. */
  countByMetadata(eventType: string, key: string): Map<unknown, number> {
    const counts = new Map<unknown, number>();
    for (const m of this.store.all()) {
      if (m.metadata?.event_type !== eventType) continue;
      const value = m.metadata.event_payload[key];
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * Holds every call to `method` — recorded at once, answered only after the returned release() —
   * so a test can see what a client sends while an earlier call of its is still in flight.
   */
  hold(method: string): () => void {
    return this.faults.hold(method);
  }

  // ---- HTTP handling ---------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.apiUrl);
    const routed = /^(?:\/via\/([^/]+))?\/api\/(.+)$/.exec(url.pathname);
    if (!routed) {
      res.writeHead(404).end();
      return;
    }
    const via = routed[1] === undefined ? undefined : decodeURIComponent(routed[1]);
    const method = decodeURIComponent(routed[2] as string);
    let args: Record<string, unknown> = {};
    let parseError: string | undefined;
    try {
      args = await readArgs(req, url);
    } catch (error) {
      if (!(error instanceof BadRequestBody)) throw error;
      parseError = error.message;
    }
    const token = tokenOf(req, args);
    delete args.token;
    const call: RecordedCall = { method, token, body: args, at: Date.now(), ...(via === undefined ? {} : { via }) };
    this.calls.push(call);

    await this.faults.heldBack(method);
    const delayMs = this.faults.delayFor(method);
    if (delayMs > 0) await sleep(delayMs);

    const failure = this.faults.take(method);
    if (failure && 'drop' in failure) {
      call.response = { status: 0, body: null };
      req.socket.destroy();
    } else {
      const answer = failure ? injectedAnswer(failure) : parseError ? ok200({ ok: false, error: parseError }) : this.answer(method, token, args);
      // Only a call that did its work gets an after-effect fault.
      const worked = answer.status === 200 && (answer.body as { ok?: unknown }).ok === true;
      if (worked) call.done = true;
      const after = worked ? this.faults.takeAfterEffect(method) : undefined;
      if (after && 'drop' in after) {
        call.response = { status: 0, body: null };
        req.socket.destroy();
        for (const waiter of this.waiters.filter((w) => w.matches(call))) waiter.settle(call);
        return;
      }
      if (after) await sleep(after.stallMs);
      if (worked) await this.faults.answerHeldBack(method);
      call.response = { status: answer.status, body: answer.body };
      const payload = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      const contentType = typeof answer.body === 'string' ? 'text/plain' : 'application/json; charset=utf-8';
      res.writeHead(answer.status, { 'content-type': contentType, ...answer.headers }).end(payload);
    }
    for (const waiter of this.waiters.filter((w) => w.matches(call))) waiter.settle(call);
  }

  private answer(method: string, token: string | null, args: Record<string, unknown>): Answer {
    const handler = methods[method];
    if (!handler) return ok200({ ok: false, error: 'unknown_method', req_method: method });
    if (!token) return ok200({ ok: false, error: 'not_authed' });
    const kind = token === this.workspace.botToken ? 'bot' : token === this.workspace.appToken ? 'app' : undefined;
    if (!kind) return ok200({ ok: false, error: 'invalid_auth' });
    if (kind !== tokenKindFor(method)) return ok200({ ok: false, error: 'not_allowed_token_type' });
    const limited = this.faults.checkRateLimit(method, args);
    if (limited) return limited;
    const ctx: MethodContext = { store: this.store, workspace: this.workspace, openSocketUrl: () => this.socket.issueUrl() };
    return ok200(handler(args, ctx));
  }

  async close(): Promise<void> {
    for (const waiter of [...this.waiters]) waiter.settle(new Error('Fake Slack was closed while waiting for a call'));
    this.faults.releaseAll();
    await this.socket.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // fetch() keeps connections alive; without this close() would wait for them to idle out.
      this.server.closeAllConnections();
    });
  }
}

const ok200 = (body: SlackResponse): Answer => ({ status: 200, body });

export async function startFakeSlack(options?: FakeSlackOptions): Promise<FakeSlack> {
  return FakeSlack.start(options);
}
