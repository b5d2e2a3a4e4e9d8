/**
 * A thin client for the Bot Connector REST API (v3) that Teams bots answer through, and the
 * cache of the token it needs (docs/decisions/020-teams-thin-bot-connector-client.md).
 */
import type { AccessToken } from './credentials.js';

/** Microsoft Entra ID; sovereign clouds and tests set TEAMS_AUTHORITY_URL. */
export const defaultAuthorityUrl = 'https://login.microsoftonline.com';

/** A connector or authority answer other than 2xx; `retryAfterMs` from Retry-After on 429/503. */
export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }

  /** 429, 5xx and network failures are worth trying again; the rest (400, 403, 404) are not. */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500 || this.status === 0;
  }
}

export function retryAfter(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 300) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.min(Math.max(0, date - Date.now()), 300_000);
}

/**
 * The Bot Connector token, whichever credential gets it (credentials.ts): cached until five minutes
 * before it expires (half its life when it is shorter), one request at a time however many callers
 * ask at once, dropped after a 401 from the connector.
 */
export class TokenSource {
  private cached: { token: string; until: number } | null = null;
  private pending: Promise<string> | null = null;

  constructor(
    private readonly acquire: () => Promise<AccessToken>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    if (this.cached && this.cached.until > this.now()) return this.cached.token;
    this.pending ??= this.fetchToken().finally(() => (this.pending = null));
    return this.pending;
  }

  /** After a 401 from the connector: the next call fetches a fresh token. */
  invalidate(): void {
    this.cached = null;
  }

  private async fetchToken(): Promise<string> {
    const asked = this.now();
    const { token, expiresAt } = await this.acquire();
    const lifetimeMs = Math.max(0, expiresAt - asked);
    this.cached = { token, until: asked + Math.max(lifetimeMs - 300_000, lifetimeMs / 2) };
    return token;
  }
}

export interface OutgoingActivity {
  type: 'message';
  text?: string;
  textFormat?: 'plain' | 'markdown' | 'xml';
  replyToId?: string;
  attachments?: unknown[];
}

/** send / reply / update on one serviceUrl's connector; each is one HTTP call (the caller retries). */
export class ConnectorClient {
  constructor(private readonly tokens: TokenSource, private readonly timeoutMs = 15_000) {}

  send(serviceUrl: string, conversationId: string, activity: OutgoingActivity): Promise<{ id: string }> {
    return this.call('POST', serviceUrl, conversationId, null, activity);
  }

  reply(serviceUrl: string, conversationId: string, activityId: string, activity: OutgoingActivity): Promise<{ id: string }> {
    return this.call('POST', serviceUrl, conversationId, activityId, { ...activity, replyToId: activityId });
  }

  update(serviceUrl: string, conversationId: string, activityId: string, activity: OutgoingActivity): Promise<{ id: string }> {
    return this.call('PUT', serviceUrl, conversationId, activityId, activity);
  }

  private async call(method: 'POST' | 'PUT', serviceUrl: string, conversationId: string, activityId: string | null, activity: OutgoingActivity): Promise<{ id: string }> {
    // Teams conversation ids hold ':', ';' and '@' (19:x@thread.tacv2;messageid=1): always encoded.
    const url = `${serviceUrl.replace(/\/+$/, '')}/v3/conversations/${encodeURIComponent(conversationId)}/activities${activityId ? `/${encodeURIComponent(activityId)}` : ''}`;
    const token = await this.tokens.get();
    let response: Response;
    try {
      response = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(activity), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new ConnectorError(`the Bot Connector could not be reached: ${err instanceof Error ? err.message : String(err)}`, 0, null);
    }
    if (response.status === 401) this.tokens.invalidate();
    const body = (await response.json().catch(() => ({}))) as { id?: unknown; error?: { code?: unknown; message?: unknown } };
    if (!response.ok) {
      const code = typeof body.error?.code === 'string' ? ` ${body.error.code}` : '';
      // A 401 is retried once with a fresh token (the cached one may have been revoked).
      throw new ConnectorError(`the Bot Connector answered HTTP ${response.status}${code} to ${method} activities`, response.status === 401 ? 503 : response.status, retryAfter(response.headers.get('retry-after')));
    }
    return { id: typeof body.id === 'string' ? body.id : (activityId ?? '') };
  }
}
