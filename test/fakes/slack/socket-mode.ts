/**
 * The WebSocket half of Socket Mode. Flow, as @slack/socket-mode implements it:
 *  1. the client calls apps.connections.open with the app-level token (xapp-...) and gets a one-time URL;
 *  2. it opens a WebSocket there and treats the connection as usable only after the server's
 *     `{"type":"hello"}` message (SocketModeClient.start() resolves on it);
 *  3. the server pushes envelopes `{ envelope_id, type, payload, accepts_response_payload }`;
 *  4. the client acks each with `{ envelope_id, payload }` (payload is `{}` for a bare ack()).
 * An app may hold up to 10 connections at once (several replicas, each with its own); Slack sends
 * each envelope to one of them, not to all — the fake takes them in turn (round robin), and sends a
 * retry to another connection than the last try when there is one.
 * Real Slack retries an Events API envelope that is not acked within 3 seconds (retry_attempt 1..3,
 * retry_reason "timeout"), over whichever connection is open then; slash commands and interactive
 * payloads are not retried. The fake does the same after redeliver({ afterMs }); by default it only
 * reports the timeout.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export type EnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

export interface EnvelopeInput {
  type: EnvelopeType;
  /** events_api: the event_callback body; slash_commands: the command fields; interactive: the interaction payload. */
  payload: object;
  envelope_id?: string;
  accepts_response_payload?: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
  at: number;
  /** The connection it came over (see SocketDelivery.connection). */
  connection?: number;
}

export interface SendEventOptions {
  /** How long to wait for the client's ack (for each delivery when redelivering); Slack's own deadline is 3 s. */
  timeoutMs?: number;
  /** Send the first try over this connection (see SocketDelivery.connection) instead of the next in turn: "Slack picked that one". */
  connection?: number;
}

export interface RedeliveryOptions {
  /** How long an envelope may stay unacked before it is sent again (Slack: 3 s). */
  afterMs: number;
  /** Redeliveries after the first attempt (Slack: 3). */
  maxRetries?: number;
}

/** One envelope sent over one connection (a redelivery is a delivery of its own). */
export interface SocketDelivery {
  envelope_id: string;
  type: EnvelopeType;
  /** Which connection got it: connections are numbered 1, 2, ... in the order they were opened. */
  connection: number;
  /** 0 for the first try, then 1, 2, ... (events_api envelopes carry it as retry_attempt). */
  attempt: number;
  at: number;
}

const ACK_DEADLINE_MS = 3000;

/** Slack lets the app return a response body (e.g. a slash command reply, view errors) only for some payloads. */
function defaultAcceptsResponsePayload(input: EnvelopeInput): boolean {
  if (input.type === 'slash_commands') return true;
  if (input.type !== 'interactive') return false;
  const kind = (input.payload as { type?: unknown }).type;
  return kind === 'view_submission' || kind === 'block_suggestion';
}

export class FakeSocketMode {
  /** Every ack the client sent, in arrival order (including late ones). */
  readonly acks: SocketAck[] = [];
  /** Every message the client sent, parsed. */
  readonly received: unknown[] = [];
  /** Every envelope sent, to which connection, in order. */
  readonly deliveries: SocketDelivery[] = [];
  /** Resolves once the first client has connected and been sent `hello`. */
  readonly connected: Promise<void>;

  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly open: WebSocket[] = [];
  private readonly ids = new Map<WebSocket, number>();
  private opened = 0;
  /** Round robin over the open connections. */
  private turn = 0;
  private redelivery: RedeliveryOptions | null = null;
  private readonly pendingAcks = new Map<string, { settle: (ack: SocketAck | Error) => void }>();
  private connectionWaiters: Array<() => void> = [];
  private resolveConnected!: () => void;

  constructor(
    private readonly appId: string,
    private readonly baseUrl: () => string,
  ) {
    this.connected = new Promise((resolve) => (this.resolveConnected = resolve));
  }

  /** Used by apps.connections.open. Real URLs look like wss://wss-primary.slack.com/link/?ticket=...&app_id=... */
  issueUrl(): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `${this.baseUrl()}/socket?ticket=${ticket}&app_id=${this.appId}`;
  }

  get connectionCount(): number {
    return this.open.length;
  }

  /** The numbers of the open connections (see SocketDelivery.connection), oldest first. */
  get openConnections(): number[] {
    return this.open.map((ws) => this.ids.get(ws) as number);
  }

  /** Slack's redelivery of unacked Events API envelopes; null turns it off (the default). */
  redeliver(options: RedeliveryOptions | null): void {
    this.redelivery = options;
  }

  /** Resolves once `count` connections are open. */
  async waitForConnections(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.open.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.open.length} Socket Mode connections open, not ${count}, after ${timeoutMs}ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Hooked to the HTTP server's 'upgrade' event. Tickets are single-use, as on Slack. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/socket' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    this.open.push(ws);
    this.ids.set(ws, ++this.opened);
    ws.on('message', (data, isBinary) => !isBinary && this.onMessage(data.toString(), this.ids.get(ws) as number));
    ws.on('close', () => {
      const index = this.open.indexOf(ws);
      if (index >= 0) this.open.splice(index, 1);
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.open.length,
        debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    this.resolveConnected();
    const waiters = this.connectionWaiters;
    this.connectionWaiters = [];
    waiters.forEach((wake) => wake());
  }

  private onMessage(text: string, connection: number): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.received.push(text);
      return;
    }
    this.received.push(message);
    const { envelope_id: id, payload } = (message ?? {}) as { envelope_id?: unknown; payload?: unknown };
    if (typeof id !== 'string') return;
    const ack: SocketAck = { envelope_id: id, at: Date.now(), connection };
    if (payload && typeof payload === 'object') ack.payload = payload as Record<string, unknown>;
    this.acks.push(ack);
    this.pendingAcks.get(id)?.settle(ack);
  }

  /** Resolves when at least one client is connected (immediately if one already is). */
  waitForConnection(timeoutMs = 5000): Promise<void> {
    if (this.open.length > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.connectionWaiters = this.connectionWaiters.filter((w) => w !== wake);
        reject(new Error(`No Socket Mode client connected within ${timeoutMs}ms`));
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.connectionWaiters.push(wake);
    });
  }

  /** The next open connection in turn; for a redelivery, another than the last one tried, if there is one. */
  private pick(previous?: WebSocket): WebSocket | undefined {
    const open = this.open.filter((ws) => ws.readyState === ws.OPEN);
    const ready = open.length > 1 ? open.filter((ws) => ws !== previous) : open;
    if (ready.length === 0) return undefined;
    return ready[this.turn++ % ready.length];
  }

  /**
   * Pushes an envelope to one connected client (each in turn) and resolves with its ack. Rejects
   * at once when no client is connected, or after `timeoutMs` without an ack — with redeliver()
   * on, an events_api envelope is first sent again (retry_attempt + 1, retry_reason "timeout") to
   * the next connection, up to maxRetries times, and the first ack of any delivery resolves.
   */
  sendEvent(input: EnvelopeInput, options: SendEventOptions = {}): Promise<SocketAck> {
    const envelopeId = input.envelope_id ?? randomUUID();
    if (this.open.length === 0) return Promise.reject(new Error(`Cannot send ${input.type} envelope: no Socket Mode client is connected`));
    const redelivery = input.type === 'events_api' ? this.redelivery : null;
    const timeoutMs = options.timeoutMs ?? redelivery?.afterMs ?? ACK_DEADLINE_MS;
    const firstAttempt = input.retry_attempt ?? 0;
    const lastAttempt = firstAttempt + (redelivery ? (redelivery.maxRetries ?? 3) : 0);
    const envelope = (attempt: number) => ({
      envelope_id: envelopeId,
      type: input.type,
      payload: input.payload,
      accepts_response_payload: input.accepts_response_payload ?? defaultAcceptsResponsePayload(input),
      // events_api envelopes carry the delivery attempt (0 = first try).
      ...(input.type === 'events_api' ? { retry_attempt: attempt, retry_reason: attempt === firstAttempt ? (input.retry_reason ?? '') : 'timeout' } : {}),
    });
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (outcome: SocketAck | Error) => {
        clearTimeout(timer);
        this.pendingAcks.delete(envelopeId);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      let previous: WebSocket | undefined;
      const pinned = options.connection === undefined ? undefined : this.open.find((ws) => this.ids.get(ws) === options.connection);
      if (options.connection !== undefined && !pinned) return reject(new Error(`Socket Mode connection ${options.connection} is not open`));
      const deliver = (attempt: number) => {
        const ws = attempt === firstAttempt && pinned ? pinned : this.pick(previous);
        previous = ws;
        if (ws) {
          this.deliveries.push({ envelope_id: envelopeId, type: input.type, connection: this.ids.get(ws) as number, attempt, at: Date.now() });
          ws.send(JSON.stringify(envelope(attempt)));
        }
        timer = setTimeout(() => {
          if (attempt < lastAttempt) deliver(attempt + 1);
          else settle(new Error(`No ack for ${input.type} envelope ${envelopeId} within ${timeoutMs}ms (acks so far: ${this.acks.length})`));
        }, timeoutMs);
      };
      this.pendingAcks.set(envelopeId, { settle });
      deliver(firstAttempt);
    });
  }

  /** Sends any JSON message to every connected client (for odd cases the helpers don't cover). */
  broadcast(message: unknown): void {
    for (const ws of this.open) ws.send(JSON.stringify(message));
  }

  /** Asks clients to reconnect, as Slack does before recycling a server (SocketModeClient reconnects by itself). */
  requestReconnect(reason: 'warning' | 'refresh_requested' | 'link_disabled' = 'refresh_requested'): void {
    this.broadcast({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } });
  }

  /** Kills every connection without a close handshake (simulates a network drop). */
  dropConnections(): void {
    for (const ws of [...this.open]) ws.terminate();
  }

  /**
   * Closes every connection with a proper close handshake (waiting up to `graceMs`), then stops.
   * A handshake matters: @slack/socket-mode treats a connection lost without one as an error and
   * leaves a 30 s timer behind. Clients that were not stopped first will try to reconnect.
   */
  async close(graceMs = 1000): Promise<void> {
    for (const [id, pending] of this.pendingAcks) pending.settle(new Error(`Fake Slack closed before envelope ${id} was acked`));
    const closing = this.open.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const ws of this.open) if (ws.readyState === ws.OPEN) ws.close(1001, 'fake slack closing');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closing), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.dropConnections();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
