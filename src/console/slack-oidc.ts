import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';

/** "Sign in with Slack": the app's OAuth client and where Slack's OpenID Connect endpoints are. */
export interface SlackOidcOptions {
  clientId: string;
  clientSecret: string;
  /** https://slack.com, or a test's fake: authorize at <base>/openid/connect/authorize, the Web API at <base>/api/. */
  baseUrl: string;
  /**
   * The workspace Deckhand's bot is in (see slackBotTeam): someone signing in from another
   * workspace is refused. Resolves null when it cannot be told (then any workspace is accepted).
   */
  team?: () => Promise<string | null>;
}

const base = (options: SlackOidcOptions) => options.baseUrl.replace(/\/+$/, '');

/** Where the browser goes to sign in; `state` comes back on the callback and must match the cookie. */
export function slackAuthorizeUrl(options: SlackOidcOptions, redirectUri: string, state: string): string {
  const params = new URLSearchParams({ response_type: 'code', scope: 'openid profile', client_id: options.clientId, state, redirect_uri: redirectUri });
  return `${base(options)}/openid/connect/authorize?${params.toString()}`;
}

const tokenResponse = z.union([
  z.object({ ok: z.literal(true), access_token: z.string().min(1) }),
  z.object({ ok: z.literal(false), error: z.string().optional() }),
]);
const userInfo = z.union([
  z.object({ ok: z.literal(true), sub: z.string().min(1).max(100), name: z.string().max(200).optional(), 'https://slack.com/user_id': z.string().max(100).optional(), 'https://slack.com/team_id': z.string().max(100).optional() }),
  z.object({ ok: z.literal(false), error: z.string().optional() }),
]);

async function callSlack(url: string, init: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new DeckhandError(ErrorCode.Upstream, `Slack could not be reached to finish signing in (${(err as Error).message}); try again.`);
  }
  const body = (await response.json().catch(() => null)) as unknown;
  if (!response.ok || body === null) throw new DeckhandError(ErrorCode.Upstream, `Slack answered ${response.status} while signing in; try again.`);
  return body;
}

/**
 * Exchanges the code for an access token (openid.connect.token) and asks Slack who it belongs to
 * (openid.connect.userInfo). The token comes straight from Slack over TLS, so the user info it
 * returns is Slack's word; the id_token is not needed. Resolves the Slack user id (chat's actor id).
 */
export async function slackUserFromCode(options: SlackOidcOptions, code: string, redirectUri: string): Promise<{ id: string; name?: string; team?: string }> {
  const token = tokenResponse.safeParse(
    await callSlack(`${base(options)}/api/openid.connect.token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: options.clientId, client_secret: options.clientSecret, code, redirect_uri: redirectUri, grant_type: 'authorization_code' }).toString(),
    }),
  );
  if (!token.success) throw new DeckhandError(ErrorCode.Upstream, 'Slack gave an unexpected answer to the sign-in code; try again.');
  if (!token.data.ok) throw new DeckhandError(ErrorCode.Forbidden, `Slack refused the sign-in (${token.data.error ?? 'no reason given'}); try again.`);
  const info = userInfo.safeParse(await callSlack(`${base(options)}/api/openid.connect.userInfo`, { method: 'POST', headers: { authorization: `Bearer ${token.data.access_token}` } }));
  if (!info.success) throw new DeckhandError(ErrorCode.Upstream, 'Slack gave an unexpected answer about who signed in; try again.');
  if (!info.data.ok) throw new DeckhandError(ErrorCode.Forbidden, `Slack would not say who signed in (${info.data.error ?? 'no reason given'}).`);
  const id = info.data['https://slack.com/user_id'] ?? info.data.sub;
  const team = info.data['https://slack.com/team_id'];
  const expected = (await options.team?.()) ?? null;
  if (expected && team !== expected) {
    throw new DeckhandError(ErrorCode.Forbidden, `You signed in to another Slack workspace (${team ?? 'unknown'}); this Deckhand serves ${expected}. Sign in to that workspace in Slack first.`);
  }
  return { id, ...(info.data.name ? { name: info.data.name } : {}), ...(team ? { team } : {}) };
}

/**
 * The workspace of Deckhand's bot token (auth.test), asked once and remembered; null while Slack
 * cannot be asked (it is asked again at the next sign-in).
 */
export function slackBotTeam(botToken: string, apiUrl = 'https://slack.com/api/'): () => Promise<string | null> {
  let known: string | null = null;
  return async () => {
    if (known) return known;
    const answer = await fetch(`${apiUrl.replace(/\/*$/, '/')}auth.test`, { method: 'POST', headers: { authorization: `Bearer ${botToken}` }, signal: AbortSignal.timeout(10_000) })
      .then((r) => r.json() as Promise<{ ok?: boolean; team_id?: unknown }>)
      .catch(() => null);
    known = answer?.ok && typeof answer.team_id === 'string' ? answer.team_id : null;
    return known;
  };
}
