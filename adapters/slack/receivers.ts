import type { App, BufferedIncomingMessage, Receiver, ReceiverEvent } from '@slack/bolt';
import type { ServerResponse } from 'node:http';
import type { ChatMessage } from '../../src/router/types.js';
import type { boltLogger } from './bolt-logger.js';
import type { BoltParts } from './bolt-parts.js';

/**
 * How Slack's requests reach the Bolt App: the receivers of both modes (Socket Mode's acks held
 * until the listeners are done; HTTP mode's receiver behind the request gate), and which `message`
 * events the adapter reads at all.
 */

/**
 * Socket Mode has no `processBeforeResponse`: Bolt acks an event before its listeners run, and the
 * SocketModeReceiver sends an ack() at once. What the receiver sees as the App holds every ack()
 * until the listeners have resolved — so, as in HTTP mode, an envelope is acked only once what it
 * carries is recorded — and drops it when they throw: the envelope stays unacked and Slack sends
 * it again. (The receiver still acks by itself what its error handler says to, e.g. auth errors.)
 */
export function ackAfterListeners(app: Pick<App, 'processEvent'>): App {
  const processEvent = async (event: ReceiverEvent): Promise<void> => {
    let held: { response: unknown } | null = null;
    await app.processEvent({
      ...event,
      ack: async (response?: unknown) => {
        if (held === null) held = { response };
      },
    });
    if (held !== null) await event.ack((held as { response: unknown }).response);
  };
  return { processEvent } as unknown as App;
}

/** The fields of a `message` event the adapter reads; anything else is left alone. */
export interface MessageFields {
  subtype?: unknown;
  user?: unknown;
  text?: unknown;
  channel?: unknown;
  channel_type?: unknown;
  ts?: unknown;
  thread_ts?: unknown;
}

/**
 * A `message` event as the bot reads it, or null when it is not one to read: only plain user
 * messages (edits, joins and bot posts have a subtype), and in channels not a mention of the bot
 * (it arrives as app_mention too, and that listener answers it). The gate has checked that
 * `channel` and `ts` are strings.
 */
export function plainMessage(message: MessageFields, botUserId: string): ChatMessage | null {
  const { user, text } = message;
  if (message.subtype !== undefined || typeof user !== 'string' || !user || typeof text !== 'string' || !text) return null;
  const isDirect = message.channel_type === 'im';
  if (!isDirect && botUserId && text.includes(`<@${botUserId}`)) return null;
  const thread = typeof message.thread_ts === 'string' && message.thread_ts ? message.thread_ts : undefined;
  return { id: String(message.ts), user, room: String(message.channel), text, isDirect, adapter: 'slack', ...(thread ? { thread } : {}) };
}

/**
 * HTTP mode's receiver: what Bolt's HTTPReceiver does for an event once it has read, verified and
 * parsed the request (ssl_check, url_verification, the ack, processEvent, the error handler), done
 * with Bolt's own functions on the request the gate (slack-request-gate.ts, the only way in) has
 * already read, verified and parsed — so nothing reads or parses it twice. An event no listener
 * would act on (`passesBy`) is answered as Bolt would answer it, without going through Bolt.
 *
 * Record, acknowledge, work (`processBeforeResponse`): Slack gets its answer when the listeners
 * resolve, and they resolve once the message is recorded as seen (the work itself is started, not
 * awaited, so the answer still comes within Slack's 3 seconds). A listener that fails to record
 * throws, and Slack gets a 500 and retries, instead of a 200 for a command that was never stored.
 */
export class GateReceiver implements Receiver {
  private app: App | null = null;

  /**
   * True for an event none of the adapter's listeners would act on (channel chatter: most of what
   * Slack sends). It is answered as Bolt answers an event — 200, empty body — without Bolt's
   * middleware chain, whose listeners would all pass it by. Set once the listeners exist.
   */
  passesBy: (body: Record<string, unknown>) => boolean = () => false;

  constructor(
    private readonly bolt: BoltParts,
    private readonly logger: ReturnType<typeof boltLogger>,
  ) {}

  init(app: App): void {
    this.app = app;
  }

  /** The server is Deckhand's (Fastify): nothing to start or stop here. */
  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  readonly handle = (req: BufferedIncomingMessage, res: ServerResponse, body: Record<string, unknown>): void => {
    this.process(req, res, body).catch((err: unknown) => {
      this.logger.error(`slack request failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  };

  private async process(req: BufferedIncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const http = this.bolt.HTTPModuleFunctions;
    if (body.ssl_check === '1') return http.buildSSLCheckResponse(res);
    if (body.type === 'url_verification') return http.buildUrlVerificationResponse(res, body);
    if (this.passesBy(body)) return http.buildContentResponse(res, '');
    const ack = new this.bolt.HTTPResponseAck({ logger: this.logger, processBeforeResponse: true, httpRequest: req, httpRequestBody: body, httpResponse: res });
    const event: ReceiverEvent = {
      body,
      ack: ack.bind(),
      retryNum: http.extractRetryNumFromHTTPRequest(req),
      retryReason: http.extractRetryReasonFromHTTPRequest(req),
      customProperties: {},
    };
    try {
      await this.app?.processEvent(event);
      if (ack.storedResponse !== undefined) http.buildContentResponse(res, ack.storedResponse);
    } catch (error) {
      const acknowledged = await http.defaultProcessEventErrorHandler({ error: error as Error, logger: this.logger, request: req, response: res, storedResponse: ack.storedResponse });
      if (acknowledged) await ack.ack();
    }
  }
}

