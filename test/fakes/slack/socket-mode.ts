/**
 * The WebSocket half of Socket Mode. Flow, as @slack/socket-mode implements it:
 *  1. the client calls apps.connections.open with the app-level token (xapp-...) and gets a one-time URL;
 *  2. it opens a WebSocket there and treats the connection as usable only after the server's
 *     `{"type":"hello"}` message (SocketModeClient.start() resolves on it);
 *  3. the server pushes envelopes `{ envelope_id, type, payload, accepts_response_payload }`;
 *  4. the client acks each with `{ envelope_id, payload }` (payload is `{}` for a bare ack()).
 * Real Slack retries an event that is not acked within 3 seconds; the fake only reports the timeout.
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
}

export interface SendEventOptions {
  /** How long to wait for the client's ack; Slack's own deadline is 3 s. */
  timeoutMs?: number;
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
  /** Resolves once the first client has connected and been sent `hello`. */
  readonly connected: Promise<void>;

  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly open: WebSocket[] = [];
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
    ws.on('message', (data, isBinary) => !isBinary && this.onMessage(data.toString()));
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

  private onMessage(text: string): void {
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
    const ack: SocketAck = { envelope_id: id, at: Date.now() };
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

  /**
   * Pushes an envelope to the most recently connected client and resolves with its ack.
   * Rejects at once when no client is connected, or after `timeoutMs` without an ack.
   */
  sendEvent(input: EnvelopeInput, options: SendEventOptions = {}): Promise<SocketAck> {
    const ws = this.open.at(-1);
    const envelopeId = input.envelope_id ?? randomUUID();
    if (!ws) return Promise.reject(new Error(`Cannot send ${input.type} envelope: no Socket Mode client is connected`));
    const timeoutMs = options.timeoutMs ?? ACK_DEADLINE_MS;
    const envelope = {
      envelope_id: envelopeId,
      type: input.type,
      payload: input.payload,
      accepts_response_payload: input.accepts_response_payload ?? defaultAcceptsResponsePayload(input),
      // events_api envelopes carry the delivery attempt (0 = first try).
      ...(input.type === 'events_api' ? { retry_attempt: input.retry_attempt ?? 0, retry_reason: input.retry_reason ?? '' } : {}),
    };
    return new Promise((resolve, reject) => {
      const settle = (outcome: SocketAck | Error) => {
        clearTimeout(timer);
        this.pendingAcks.delete(envelopeId);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(
        () => settle(new Error(`No ack for ${input.type} envelope ${envelopeId} within ${timeoutMs}ms (acks so far: ${this.acks.length})`)),
        timeoutMs,
      );
      this.pendingAcks.set(envelopeId, { settle });
      ws.send(JSON.stringify(envelope));
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
