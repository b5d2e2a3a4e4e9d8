/**
 * A thin client for the Bot Connector REST API (v3) that Teams bots answer through, and the
 * client-credentials token it needs (docs/decisions/020-teams-thin-bot-connector-client.md).
 */

/** Microsoft Entra ID; sovereign clouds and tests set TEAMS_AUTHORITY_URL. */
export const defaultAuthorityUrl = 'https://login.microsoftonline.com';
const botFrameworkScope = 'https://api.botframework.com/.default';

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

function retryAfter(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 300) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.min(Math.max(0, date - Date.now()), 300_000);
}

/** Client-credentials tokens for the Bot Connector, cached until five minutes before they expire. */
export class TokenSource {
  private cached: { token: string; until: number } | null = null;
  private pending: Promise<string> | null = null;

  constructor(private readonly options: { appId: string; appPassword: string; tenantId: string; authorityUrl: string; timeoutMs?: number }) {}

  async get(): Promise<string> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.token;
    this.pending ??= this.fetchToken().finally(() => (this.pending = null));
    return this.pending;
  }

  /** After a 401 from the connector: the next call fetches a fresh token. */
  invalidate(): void {
    this.cached = null;
  }

  private async fetchToken(): Promise<string> {
    const url = `${this.options.authorityUrl.replace(/\/+$/, '')}/${encodeURIComponent(this.options.tenantId)}/oauth2/v2.0/token`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.options.appId, client_secret: this.options.appPassword, scope: botFrameworkScope }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new ConnectorError(`could not reach the token authority: ${err instanceof Error ? err.message : String(err)}`, 0, null);
    }
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown };
    if (!response.ok || typeof body.access_token !== 'string') {
      // The description names the problem (AADSTS7000215: invalid secret); it never holds the secret.
      const why = typeof body.error_description === 'string' ? body.error_description.split('\n')[0] : `HTTP ${response.status}`;
      throw new ConnectorError(`the token authority refused TEAMS_APP_ID / TEAMS_APP_PASSWORD / TEAMS_TENANT_ID: ${why}`, response.status, retryAfter(response.headers.get('retry-after')));
    }
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in) || 3600) * 1000;
    this.cached = { token: body.access_token, until: Date.now() + Math.max(lifetimeMs - 300_000, lifetimeMs / 2) };
    return body.access_token;
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
