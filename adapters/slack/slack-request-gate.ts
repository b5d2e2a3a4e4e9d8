import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { BufferedIncomingMessage } from '@slack/bolt';
import type { Logger } from '../../src/core/logger.js';
import { jsonNestsDeeperThan, maxJsonDepth, tooDeepMessage } from '../../src/http/webhook-body.js';
import { slackBodyProblem } from './slack-body-shape.js';
import { httpModuleFunctions } from './bolt-parts.js';

export interface SlackRequestGateOptions {
  signingSecret: string;
  logger: Logger;
  /**
   * The receiver (slack-adapter.ts): gets the request, already read and verified, with the body
   * this gate parsed, only when it is safe. Nothing reads or parses it a second time.
   */
  forward: (req: BufferedIncomingMessage, res: ServerResponse, body: Record<string, unknown>) => void;
  bodyLimit?: number;
}

function answer(res: ServerResponse, status: number, error?: string): void {
  if (res.headersSent) return;
  if (error === undefined) res.writeHead(status).end();
  else res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error }));
}

/** The JSON text Bolt will parse: the body itself, or the `payload=` field of a form. */
function jsonTextOf(req: BufferedIncomingMessage): string | null {
  const text = req.rawBody.toString();
  if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return text;
  const { payload } = parseQuery(text);
  return typeof payload === 'string' ? payload : null;
}

/**
 * POST /slack/events before Bolt: read the body and verify its signature with Bolt's own
 * functions (so Bolt and this gate see the same bytes and the same parse), then refuse what Bolt
 * cannot take — a body that is not an object, lacks what its type needs, or nests too deeply — with
 * a 400 that says why. Only then does the adapter's receiver get the request and its parsed body.
 * Unsigned requests keep Bolt's 401, oversized ones its 413.
 */
export function slackRequestGate(options: SlackRequestGateOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { logger } = options;
  const HTTPModuleFunctions = httpModuleFunctions();
  const refuse = (res: ServerResponse, reason: string) => {
    logger.warn({ reason }, 'refused a signed Slack request');
    answer(res, 400, `not a Slack request Deckhand can handle: ${reason}`);
  };

  return async (req, res) => {
    let buffered: BufferedIncomingMessage;
    try {
      // Also lets Slack's unsigned `ssl_check=1` through, stripped of anything else, as Bolt does.
      buffered = await HTTPModuleFunctions.parseAndVerifyHTTPRequest({ signingSecret: options.signingSecret, bodyLimit: options.bodyLimit ?? HTTPModuleFunctions.defaultBodyLimit }, req, res);
    } catch (err) {
      if (HTTPModuleFunctions.isRawBodyError(err)) {
        const status = (err as { statusCode: number }).statusCode;
        logger.warn({ status, reason: (err as Error).message }, 'could not read a Slack request');
        return answer(res, status === 413 ? 413 : 400);
      }
      logger.warn({ reason: (err as Error).message }, 'refused an unsigned Slack request');
      return answer(res, 401);
    }

    const json = jsonTextOf(buffered);
    if (json !== null && jsonNestsDeeperThan(json, maxJsonDepth)) return refuse(res, tooDeepMessage());
    let body: unknown;
    try {
      body = HTTPModuleFunctions.parseHTTPRequestBody(buffered);
    } catch (err) {
      return refuse(res, `malformed body: ${(err as Error).message}`);
    }
    const problem = slackBodyProblem(body);
    if (problem) return refuse(res, problem);
    if ((body as { type?: unknown }).type === 'app_rate_limited') {
      // Slack is dropping this app's events for the rest of the minute; Bolt has no handler for the notice.
      logger.warn({ minute: (body as { minute_rate_limited?: unknown }).minute_rate_limited }, 'Slack rate-limited the Events API for this app: some events were not delivered');
      return answer(res, 200);
    }
    options.forward(buffered, res, body as Record<string, unknown>);
  };
}
