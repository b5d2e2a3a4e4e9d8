/**
 * A fake of Slack's "Sign in with Slack" (OpenID Connect) on 127.0.0.1, faithful to what Deckhand
 * uses (docs.slack.dev: /openid/connect/authorize, openid.connect.token, openid.connect.userInfo):
 *
 * - GET /openid/connect/authorize?response_type=code&scope=openid…&client_id&state&redirect_uri:
 *   checks them like Slack (unknown client, a redirect_uri not registered, no openid scope: an
 *   error page, 400), then "signs in" the user set with `signInAs` and redirects to
 *   redirect_uri?code=…&state=… (a browser follows it, as with Slack).
 * - POST /api/openid.connect.token (form: client_id, client_secret, code, redirect_uri, grant_type):
 *   a code is good once, for its client and redirect_uri; answers 200 { ok, access_token,
 *   token_type, id_token } or 200 { ok: false, error: 'invalid_code' | 'invalid_client_id' | 'bad_client_secret' | 'bad_redirect_uri' }.
 * - POST|GET /api/openid.connect.userInfo with Authorization: Bearer <access token>:
 *   200 { ok: true, sub, https://slack.com/user_id, https://slack.com/team_id, name, … } or
 *   { ok: false, error: 'invalid_auth' }.
 *
 * Every request is recorded (server.requests) so tests check what Deckhand sent.
 */
import { randomBytes } from 'node:crypto';
import { startRecordingServer, type CannedResponse, type RecordedRequest, type RecordingServer } from '../recording-server.js';

export interface FakeSlackUser {
  id: string;
  teamId?: string;
  name?: string;
}

export interface FakeSlackOidc {
  url: string;
  clientId: string;
  clientSecret: string;
  requests: RecordedRequest[];
  /** The user the next authorize request signs in (default U0FAKEUSER). */
  signInAs(user: FakeSlackUser): void;
  /** Redirect URIs the Slack app lists (OAuth & Permissions); authorize refuses any other. */
  allowRedirect(uri: string): void;
  close(): Promise<void>;
}

const json = (body: unknown): CannedResponse => ({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) });

export async function startFakeSlackOidc(options: { clientId?: string; clientSecret?: string } = {}): Promise<FakeSlackOidc> {
  const clientId = options.clientId ?? '2141029472.691202649728';
  const clientSecret = options.clientSecret ?? 'e1b9e11dfcd19c1982d5de12921e17e8c';
  let user: FakeSlackUser = { id: 'U0FAKEUSER', teamId: 'T0FAKETEAM', name: 'Fake User' };
  const redirects = new Set<string>();
  const codes = new Map<string, { user: FakeSlackUser; redirectUri: string }>();
  const tokens = new Map<string, FakeSlackUser>();

  const server: RecordingServer = await startRecordingServer();
  server.respond((req): CannedResponse => {
    if (req.method === 'GET' && req.path === '/openid/connect/authorize') {
      const q = req.query;
      if (q.client_id !== clientId) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'invalid_client_id' };
      if (!q.redirect_uri || !redirects.has(q.redirect_uri)) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'bad_redirect_uri' };
      if (q.response_type !== 'code' || !(q.scope ?? '').split(/[ +]/).includes('openid')) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'invalid_scope' };
      const code = randomBytes(16).toString('hex');
      codes.set(code, { user, redirectUri: q.redirect_uri });
      const back = new URL(q.redirect_uri);
      back.searchParams.set('code', code);
      if (q.state !== undefined) back.searchParams.set('state', q.state);
      return { status: 302, headers: { location: back.href }, body: '' };
    }
    if (req.method === 'POST' && req.path === '/api/openid.connect.token') {
      const form = Object.fromEntries(new URLSearchParams(req.body));
      if (form.client_id !== clientId) return json({ ok: false, error: 'invalid_client_id' });
      if (form.client_secret !== clientSecret) return json({ ok: false, error: 'bad_client_secret' });
      const grant = form.code ? codes.get(form.code) : undefined;
      if (!grant) return json({ ok: false, error: 'invalid_code' });
      codes.delete(form.code ?? '');
      if (form.redirect_uri !== grant.redirectUri) return json({ ok: false, error: 'bad_redirect_uri' });
      const accessToken = `xoxp-${randomBytes(12).toString('hex')}`;
      tokens.set(accessToken, grant.user);
      return json({ ok: true, access_token: accessToken, token_type: 'Bearer', id_token: 'eyJhbGciOiJSUzI1NiJ9.e30.not-checked-by-deckhand' });
    }
    if (req.path === '/api/openid.connect.userInfo') {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      const who = bearer ? tokens.get(bearer) : undefined;
      if (!who) return json({ ok: false, error: 'invalid_auth' });
      return json({ ok: true, sub: who.id, 'https://slack.com/user_id': who.id, 'https://slack.com/team_id': who.teamId ?? 'T0FAKETEAM', name: who.name ?? who.id, email: `${who.id.toLowerCase()}@example.com`, email_verified: true });
    }
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
  });

  return {
    url: server.url,
    clientId,
    clientSecret,
    requests: server.requests,
    signInAs: (u) => void (user = u),
    allowRedirect: (uri) => void redirects.add(uri),
    close: () => server.close(),
  };
}
