/**
 * A fake of the three Microsoft services a Teams bot talks to, on 127.0.0.1, one HTTP server:
 *
 *  - the Bot Framework OpenID configuration (`/openid/v1/.well-known/openidconfiguration`) and its
 *    JWKS (`/openid/v1/.well-known/keys`), whose RSA key this fake owns: `mint()` signs the JWT that
 *    Teams puts in `Authorization: Bearer …` of every activity it POSTs to the bot (iss
 *    https://api.botframework.com, aud = the bot's app id, `serviceurl` claim, nbf/exp);
 *  - a token authority (`/authority/{tenant}/oauth2/v2.0/token`, client credentials grant, as Entra
 *    ID / login.microsoftonline.com answers it) that takes the client secret or a certificate's
 *    client assertion (`registerCertificate`: its signature, `x5t#S256` / `x5t`, aud = this token
 *    URL, iss = sub = the app id, nbf / exp against the authority's clock, which `authorityClockSkewSeconds`
 *    moves ahead), and the two managed-identity endpoints: App Service's (`/msi/token`,
 *    `X-IDENTITY-HEADER`, api-version 2019-08-01, `expires_on`) and IMDS
 *    (`/metadata/identity/oauth2/token`, `Metadata: true`, api-version 2018-02-01, `expires_in`),
 *    each for the user-assigned identity whose client id is the app id;
 *  - the Bot Connector service, the activities' serviceUrl (`/connector/`): POST
 *    v3/conversations/{id}/activities (send), POST …/activities/{activityId} (reply), PUT
 *    …/activities/{activityId} (update). Every call is recorded; a call without a bearer token this
 *    fake issued (and still valid) gets 401; `failNext` answers 429 with Retry-After, or 5xx.
 *
 * Shapes follow the Bot Framework Connector REST API reference (learn.microsoft.com,
 * bot-framework-rest-connector-api-reference / -send-and-receive-messages / -authentication):
 * ResourceResponse `{ id }` for send/reply/update. Confirmed from Microsoft's sources:
 *  - the paths: POST v3/conversations/{conversationId}/activities/{activityId} (reply) and PUT on
 *    the same path (update) — botbuilder-js, libraries/botframework-connector/src/connectorApi/
 *    operations/conversations.ts (replyToActivityOperationSpec, updateActivityOperationSpec);
 *  - the token response fields `token_type`, `expires_in`, `ext_expires_in`, `access_token` — msal-
 *    common's ServerAuthorizationTokenResponse (AzureAD/microsoft-authentication-library-for-js,
 *    lib/msal-common/src/response/ServerAuthorizationTokenResponse.ts);
 *  - each JWKS key's optional `endorsements` (the channel ids it signs for) — botbuilder-js,
 *    libraries/botframework-connector/src/auth/openIdMetadata.ts (IKey); Deckhand checks them
 *    (adapters/teams/teams-auth.ts). Which channels the real keys list was not confirmed.
 *  - AADSTS700027 (the assertion's signature / certificate is not the app's) and AADSTS700024 (the
 *    assertion is outside its valid time range) with error `invalid_client` — msal-node
 *    docs/certificate-credentials.md, learn.microsoft.com azure/developer/java/sdk/troubleshooting-
 *    authentication-service-principal, and the error text quoted in AzureAD/microsoft-authentication-
 *    library-for-dotnet#4951 and Azure/login#180. Not confirmed: the HTTP status Entra answers with
 *    them (401 here) and the exact wording of the "not registered" description.
 * Not confirmed either: the managed-identity endpoints' error bodies and statuses; their request
 * shapes and success bodies are from the Container Apps / App Service and "use VM token" articles,
 * and match msal-node's ManagedIdentitySources (AppService.ts 2019-08-01 with IDENTITY_HEADER,
 * Imds.ts 2018-02-01 with `Metadata: true`).
 */
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, errors as joseErrors, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';

export const botFrameworkIssuer = 'https://api.botframework.com';

export interface ConnectorCall {
  method: 'POST' | 'PUT';
  kind: 'send' | 'reply' | 'update';
  conversationId: string;
  /** The activity replied to or updated (reply, update). */
  activityId?: string;
  body: Record<string, unknown>;
  authorization: string;
  /** The status the fake answered. */
  status: number;
  /** Date.now() when it arrived. */
  receivedAt: number;
  /** The activity id answered (send, reply, update that succeeded). */
  responseId?: string;
}

export interface MintOptions {
  /** Default the fake's own serviceUrl. */
  serviceUrl?: string;
  audience?: string;
  issuer?: string;
  /** Seconds from now; negative: already expired. Default 3600. */
  expiresIn?: number;
  /** Seconds from now for nbf; default -60. */
  notBefore?: number;
  /** Sign with a key the JWKS does not list (same kid). */
  foreignKey?: boolean;
  /**
   * Sign with the JWKS's other key, which is endorsed for another channel only (`webchat`), not
   * `msteams`: a token Microsoft would never send for a Teams activity.
   */
  otherChannelKey?: boolean;
}

export interface FakeTeams {
  /** http://127.0.0.1:<port> */
  url: string;
  openIdMetadataUrl: string;
  /** The authority base (the tenant and /oauth2/v2.0/token are appended). */
  authorityUrl: string;
  /** The serviceUrl activities carry (ends with /). */
  serviceUrl: string;
  appId: string;
  appPassword: string;
  tenantId: string;
  /** A signed bearer token for an inbound activity. */
  mint(options?: MintOptions): Promise<string>;
  /** Every connector call, in arrival order (401s included). */
  calls: ConnectorCall[];
  /** Token requests: the form fields each carried. */
  tokenRequests: Array<Record<string, string>>;
  /** What the authority answered each token request (same order): the status, and the refusal's description. */
  tokenAnswers: Array<{ status: number; description?: string }>;
  /** Certificates (PEM) registered on the app: client assertions signed by their keys are accepted. */
  registerCertificate(pem: string): void;
  /** The authority's clock runs this many seconds ahead (an assertion made "now" looks that old). Default 0. */
  authorityClockSkewSeconds: number;
  /** App Service style managed-identity endpoint (what IDENTITY_ENDPOINT holds). */
  appServiceIdentityUrl: string;
  /** The secret App Service puts in IDENTITY_HEADER; requests must send it as X-IDENTITY-HEADER. */
  identityHeader: string;
  /** IMDS token URL (what TEAMS_IMDS_URL points to in tests). */
  imdsUrl: string;
  /** Managed-identity token requests, with the query, the headers that matter and the status answered. */
  identityRequests: Array<{ style: 'app-service' | 'imds'; query: Record<string, string>; identityHeader?: string; metadata?: string; status: number }>;
  /** The next n connector calls answer `status` (429: with Retry-After `retryAfterSeconds`). */
  failNext(n: number, status: number, retryAfterSeconds?: number): void;
  /** Resolves with the first call (past or future) that matches. */
  waitForCall(match: (call: ConnectorCall) => boolean, timeoutMs?: number): Promise<ConnectorCall>;
  /** Token lifetime handed out (seconds); default 3600. */
  tokenLifetimeSeconds: number;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
};

export async function startFakeTeams(options: { appId?: string; appPassword?: string; tenantId?: string } = {}): Promise<FakeTeams> {
  const appId = options.appId ?? '00000000-0000-4000-8000-00000000b07a';
  const appPassword = options.appPassword ?? 'fake-teams-client-secret';
  const tenantId = options.tenantId ?? '11111111-1111-4111-8111-111111111111';
  const kid = 'fake-teams-key-1';
  const otherKid = 'fake-webchat-key-1';
  const own = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256');
  // The keys' shape as the Bot Framework SDK reads them (botbuilder-js botframework-connector
  // src/auth/openIdMetadata.ts, IKey: kty, use, kid, n, e, x5t, x5c, endorsements; no `alg`), without
  // x5t / x5c, which nobody here reads. Each key's `endorsements` are the channel ids it signs for.
  const jwks: { keys: Array<JWK & { endorsements: string[] }> } = {
    keys: [
      { ...(await exportJWK(own.publicKey)), kid, use: 'sig', endorsements: ['msteams'] },
      { ...(await exportJWK(other.publicKey)), kid: otherKid, use: 'sig', endorsements: ['webchat'] },
    ],
  };

  const issued = new Map<string, number>(); // access token -> expiry (ms)
  const faults: Array<{ status: number; retryAfter?: number }> = [];
  const calls: ConnectorCall[] = [];
  const tokenRequests: FakeTeams['tokenRequests'] = [];
  const tokenAnswers: FakeTeams['tokenAnswers'] = [];
  const identityRequests: FakeTeams['identityRequests'] = [];
  const certificates: Array<{ x5t: string; x5tS256: string; certificate: X509Certificate }> = [];
  const waiters = new Set<() => void>();
  let counter = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => json(res, 500, { error: { code: 'FakeError', message: String(err) } }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    if (req.method === 'GET' && url.pathname === '/openid/v1/.well-known/openidconfiguration') {
      return json(res, 200, {
        issuer: botFrameworkIssuer,
        authorization_endpoint: 'https://invalid.botframework.com',
        jwks_uri: `${fake.url}/openid/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/openid/v1/.well-known/keys') {
      return json(res, 200, jwks);
    }
    const tokenPath = /^\/authority\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (req.method === 'POST' && tokenPath) {
      const form = Object.fromEntries(new URLSearchParams(body));
      tokenRequests.push(form);
      const refuse = (status: number, error: string, description: string) => {
        tokenAnswers.push({ status, description });
        json(res, status, { error, error_description: `${description}\r\nTrace ID: ${randomUUID()}` });
      };
      if (decodeURIComponent(tokenPath[1] ?? '') !== tenantId) return refuse(400, 'invalid_request', 'AADSTS90002: Tenant not found.');
      if (form.grant_type !== 'client_credentials' || form.client_id !== appId) return refuse(400, 'unauthorized_client', 'AADSTS700016: Application not found in the directory.');
      if (form.client_secret !== undefined && form.client_assertion !== undefined) return refuse(400, 'invalid_request', 'AADSTS90014: only one of client_secret and client_assertion may be sent.');
      if (form.client_assertion !== undefined) {
        const why = await checkAssertion(form, `${fake.authorityUrl}/${tokenPath[1] ?? ''}/oauth2/v2.0/token`);
        if (why) return refuse(401, 'invalid_client', why);
      } else if (form.client_secret !== appPassword) return refuse(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
      if (form.scope !== 'https://api.botframework.com/.default') return refuse(400, 'invalid_scope', 'AADSTS70011: invalid scope');
      tokenAnswers.push({ status: 200 });
      return json(res, 200, { token_type: 'Bearer', expires_in: fake.tokenLifetimeSeconds, ext_expires_in: fake.tokenLifetimeSeconds, access_token: issue() });
    }
    if (req.method === 'GET' && (url.pathname === '/msi/token' || url.pathname === '/metadata/identity/oauth2/token')) return managedIdentity(req, res, url);
    const connector = /^\/connector\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
    if (connector && (req.method === 'POST' || req.method === 'PUT')) {
      const conversationId = decodeURIComponent(connector[1] ?? '');
      const activityId = connector[2] === undefined ? undefined : decodeURIComponent(connector[2]);
      const kind: ConnectorCall['kind'] = req.method === 'PUT' ? 'update' : activityId ? 'reply' : 'send';
      if (kind === 'update' && !activityId) return json(res, 405, { error: { code: 'MethodNotAllowed', message: 'PUT needs an activity id' } });
      const authorization = req.headers.authorization ?? '';
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // recorded as {} and answered 400 below
      }
      const call: ConnectorCall = { method: req.method, kind, conversationId, ...(activityId ? { activityId } : {}), body: parsed, authorization, status: 0, receivedAt: Date.now() };
      calls.push(call);
      const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        call.status = status;
        const id = (payload as { id?: unknown }).id;
        if (typeof id === 'string') call.responseId = id;
        json(res, status, payload, headers);
        waiters.forEach((w) => w());
      };
      const token = /^Bearer (.+)$/.exec(authorization)?.[1] ?? '';
      const expiry = issued.get(token);
      if (expiry === undefined || expiry < Date.now()) return answer(401, { error: { code: 'Unauthorized', message: 'Authorization has been denied for this request.' } });
      const fault = faults.shift();
      if (fault) {
        return answer(fault.status, { error: { code: fault.status === 429 ? 'Throttled' : 'ServiceError', message: 'injected by the test' } }, fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {});
      }
      if (parsed.type !== 'message' || typeof parsed !== 'object') return answer(400, { error: { code: 'BadArgument', message: 'Activity type must be message' } });
      return answer(kind === 'update' ? 200 : 201, { id: kind === 'update' ? activityId : `1${String(++counter).padStart(12, '0')}` });
    }
    json(res, 404, { error: { code: 'NotFound', message: `${req.method} ${url.pathname}` } });
  }

  function issue(): string {
    const token = `fake-access-${randomUUID()}`;
    issued.set(token, Date.now() + fake.tokenLifetimeSeconds * 1000);
    return token;
  }

  /** Null when the client assertion is one Entra ID would take; else the AADSTS description. */
  async function checkAssertion(form: Record<string, string>, tokenUrl: string): Promise<string | null> {
    if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return 'AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.';
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(form.client_assertion ?? '') as Record<string, unknown>;
    } catch {
      return 'AADSTS50027: JWT token is invalid or malformed.';
    }
    const registered = certificates.find((c) => (header['x5t#S256'] !== undefined ? c.x5tS256 === header['x5t#S256'] : c.x5t === header.x5t));
    if (!registered) return 'AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.';
    try {
      await jwtVerify(form.client_assertion ?? '', registered.certificate.publicKey, {
        algorithms: ['PS256', 'RS256'],
        audience: tokenUrl,
        issuer: appId,
        subject: appId,
        requiredClaims: ['exp', 'nbf', 'jti'],
        currentDate: new Date(Date.now() + fake.authorityClockSkewSeconds * 1000),
      });
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired || (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf')) return 'AADSTS700024: Client assertion is not within its valid time range.';
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'AADSTS700027: Client assertion failed signature validation.';
      return `AADSTS700027: Client assertion contains an invalid claim (${err instanceof joseErrors.JWTClaimValidationFailed ? err.claim : 'header'}).`;
    }
    return null;
  }

  /** The App Service (2019-08-01) and IMDS (2018-02-01) token endpoints of a user-assigned managed identity whose client id is the app id. */
  function managedIdentity(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const style = url.pathname === '/msi/token' ? 'app-service' : 'imds';
    const query = Object.fromEntries(url.searchParams);
    const identityHeader = typeof req.headers['x-identity-header'] === 'string' ? req.headers['x-identity-header'] : undefined;
    const metadata = typeof req.headers.metadata === 'string' ? req.headers.metadata : undefined;
    const record: FakeTeams['identityRequests'][number] = { style, query, ...(identityHeader !== undefined ? { identityHeader } : {}), ...(metadata !== undefined ? { metadata } : {}), status: 0 };
    identityRequests.push(record);
    const answer = (status: number, payload: unknown) => {
      record.status = status;
      json(res, status, payload);
    };
    const refuse = (status: number, message: string) => (style === 'imds' ? answer(status, { error: 'invalid_request', error_description: message }) : answer(status, { statusCode: status, message, correlationId: randomUUID() }));
    if (style === 'imds') {
      if (metadata !== 'true') return refuse(400, 'Required metadata header not specified');
      if (req.headers['x-forwarded-for'] !== undefined) return refuse(400, 'Request contains X-Forwarded-For header');
      if (query['api-version'] !== '2018-02-01') return refuse(400, 'Invalid API version');
    } else {
      if (identityHeader !== fake.identityHeader) return refuse(401, 'The X-IDENTITY-HEADER is missing or does not match IDENTITY_HEADER.');
      if (query['api-version'] !== '2019-08-01') return refuse(400, 'api-version 2019-08-01 is expected.');
    }
    if (query.resource !== 'https://api.botframework.com') return refuse(400, `No token for resource ${query.resource ?? '(none)'} in this fake.`);
    if (query.client_id !== appId) return refuse(400, 'No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.');
    const now = Math.floor(Date.now() / 1000);
    const common = { access_token: issue(), expires_on: String(now + fake.tokenLifetimeSeconds), resource: query.resource, token_type: 'Bearer' };
    return answer(200, style === 'imds' ? { ...common, refresh_token: '', expires_in: String(fake.tokenLifetimeSeconds), ext_expires_in: String(fake.tokenLifetimeSeconds), not_before: String(now) } : { ...common, client_id: appId });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeTeams = {
    url: base,
    openIdMetadataUrl: `${base}/openid/v1/.well-known/openidconfiguration`,
    authorityUrl: `${base}/authority`,
    serviceUrl: `${base}/connector/`,
    appId,
    appPassword,
    tenantId,
    calls,
    tokenRequests,
    tokenAnswers,
    registerCertificate(pem) {
      const certificate = new X509Certificate(pem);
      // Independent of Deckhand's computation: the hash of the DER bytes.
      certificates.push({ certificate, x5t: createHash('sha1').update(certificate.raw).digest('base64url'), x5tS256: createHash('sha256').update(certificate.raw).digest('base64url') });
    },
    authorityClockSkewSeconds: 0,
    appServiceIdentityUrl: `${base}/msi/token`,
    identityHeader: `fake-identity-header-${randomUUID()}`,
    imdsUrl: `${base}/metadata/identity/oauth2/token`,
    identityRequests,
    tokenLifetimeSeconds: 3600,
    async mint(mint = {}) {
      const now = Math.floor(Date.now() / 1000);
      const key: CryptoKey = mint.foreignKey ? foreign.privateKey : mint.otherChannelKey ? other.privateKey : own.privateKey;
      return new SignJWT({ serviceurl: mint.serviceUrl ?? fake.serviceUrl })
        .setProtectedHeader({ alg: 'RS256', kid: mint.otherChannelKey ? otherKid : kid, typ: 'JWT' })
        .setIssuer(mint.issuer ?? botFrameworkIssuer)
        .setAudience(mint.audience ?? appId)
        .setNotBefore(now + (mint.notBefore ?? -60))
        .setIssuedAt(now - 60)
        .setExpirationTime(now + (mint.expiresIn ?? 3600))
        .sign(key);
    },
    failNext(n, status, retryAfterSeconds) {
      for (let i = 0; i < n; i++) faults.push({ status, ...(retryAfterSeconds !== undefined ? { retryAfter: retryAfterSeconds } : {}) });
    },
    waitForCall(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = calls.find((c) => c.status !== 0 && match(c));
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching connector call within ${timeoutMs}ms; calls: ${JSON.stringify(calls.map((c) => [c.kind, c.status, c.body.text]))}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

/** A Teams `message` activity as Teams POSTs it to the messaging endpoint (the fields Deckhand reads, plus the usual ones). */
export function messageActivity(fake: Pick<FakeTeams, 'appId' | 'serviceUrl' | 'tenantId'>, options: {
  text: string;
  id?: string;
  conversationId?: string;
  conversationType?: 'personal' | 'channel' | 'groupChat';
  aadObjectId?: string;
  userName?: string;
  /** Mention the bot: `<at>Deckhand</at>` at the start of the text, with its mention entity. */
  mention?: boolean;
  serviceUrl?: string;
}): Record<string, unknown> {
  const botId = `28:${fake.appId}`;
  const mentionText = '<at>Deckhand</at>';
  const conversationType = options.conversationType ?? 'personal';
  return {
    type: 'message',
    id: options.id ?? `${Date.now()}${Math.floor(Math.random() * 1000)}`,
    timestamp: new Date().toISOString(),
    serviceUrl: options.serviceUrl ?? fake.serviceUrl,
    channelId: 'msteams',
    from: { id: `29:1${options.aadObjectId ?? 'user'}`, name: options.userName ?? 'Alice', aadObjectId: options.aadObjectId ?? 'aad-alice' },
    conversation: { id: options.conversationId ?? (conversationType === 'personal' ? 'a:1personal-alice' : '19:deploys@thread.tacv2'), conversationType, tenantId: fake.tenantId, ...(conversationType === 'personal' ? {} : { isGroup: true }) },
    recipient: { id: botId, name: 'Deckhand' },
    textFormat: 'plain',
    locale: 'en-US',
    text: options.mention ? `${mentionText} ${options.text}` : options.text,
    entities: options.mention ? [{ type: 'mention', text: mentionText, mentioned: { id: botId, name: 'Deckhand' } }] : [],
    channelData: { tenant: { id: fake.tenantId } },
  };
}

/**
 * A Teams `invoke` activity named `adaptiveCard/action`, as Teams POSTs it when someone clicks an
 * Action.Execute button of a card the bot sent (Universal Actions): `value.action` carries the
 * button's verb and data, `replyToId` the card's activity id. Shape from the Universal Actions
 * docs (learn.microsoft.com, "Universal Actions for Adaptive Cards"); `value.trigger` ('manual', optional)
 * from the Teams SDK's AdaptiveCardInvokeValue (microsoft/teams.ts, packages/api/src/models/
 * adaptive-card/adaptive-card-invoke-value.ts); botframework-schema's AdaptiveCardInvokeValue does not
 * list it (Deckhand does not read it).
 */
export function cardActionActivity(fake: Pick<FakeTeams, 'appId' | 'serviceUrl' | 'tenantId'>, options: {
  verb: string;
  data: Record<string, unknown>;
  replyToId: string;
  id?: string;
  conversationId?: string;
  conversationType?: 'personal' | 'channel' | 'groupChat';
  aadObjectId?: string;
  userName?: string;
}): Record<string, unknown> {
  const conversationType = options.conversationType ?? 'channel';
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: options.id ?? `f:${Date.now()}${Math.floor(Math.random() * 1000)}`,
    timestamp: new Date().toISOString(),
    serviceUrl: fake.serviceUrl,
    channelId: 'msteams',
    from: { id: `29:1${options.aadObjectId ?? 'user'}`, name: options.userName ?? 'Alice', aadObjectId: options.aadObjectId ?? 'aad-alice' },
    conversation: { id: options.conversationId ?? '19:deploys@thread.tacv2', conversationType, tenantId: fake.tenantId, ...(conversationType === 'personal' ? {} : { isGroup: true }) },
    recipient: { id: `28:${fake.appId}`, name: 'Deckhand' },
    replyToId: options.replyToId,
    locale: 'en-US',
    value: { action: { type: 'Action.Execute', id: `${options.verb}-button`, verb: options.verb, data: options.data }, trigger: 'manual' },
    channelData: { tenant: { id: fake.tenantId } },
  };
}
