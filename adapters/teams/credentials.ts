/**
 * How the bot proves who it is to get its Bot Connector token: a client secret, a certificate
 * (a client assertion signed with its private key) or a user-assigned managed identity
 * (docs/decisions/020-teams-thin-bot-connector-client.md, "Certificate and managed-identity
 * credentials"). Exactly one, chosen by the environment; `acquireToken` does one request.
 */
import { createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { DeckhandError, ErrorCode } from '../../src/core/errors.js';
import { ConnectorError, TokenSource, retryAfter } from './connector.js';

/**
 * The token's scope at the Entra token endpoint; a managed identity asks for the resource itself,
 * the scope without `/.default` (as msal-node's ManagedIdentityApplication.acquireToken turns the
 * Bot Framework SDK's `https://api.botframework.com/.default` into the `resource` query parameter).
 */
export const botFrameworkScope = 'https://api.botframework.com/.default';
export const botFrameworkResource = 'https://api.botframework.com';
/** Azure's Instance Metadata Service (VMs, AKS, Container Instances). */
export const defaultImdsUrl = 'http://169.254.169.254/metadata/identity/oauth2/token';
export const clientAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type TeamsCredential =
  | { kind: 'secret'; appId: string; appPassword: string }
  /** `x5tS256`: base64url SHA-256 thumbprint of the certificate's DER encoding. */
  | { kind: 'certificate'; appId: string; privateKey: KeyObject; x5tS256: string; notAfter: string }
  /**
   * User-assigned managed identity (Azure Bot type UserAssignedMSI): the bot's app id is the
   * identity's client id. App Service / Container Apps / Functions set IDENTITY_ENDPOINT and
   * IDENTITY_HEADER; elsewhere (VMs, AKS) the token comes from IMDS.
   */
  | { kind: 'managed-identity'; appId: string; endpoint: { style: 'app-service'; url: string; header: string } | { style: 'imds'; url: string } };

export interface CredentialEnv {
  TEAMS_APP_ID?: string | undefined;
  TEAMS_APP_PASSWORD?: string | undefined;
  TEAMS_CERTIFICATE_PATH?: string | undefined;
  TEAMS_MANAGED_IDENTITY?: boolean | undefined;
  TEAMS_IMDS_URL?: string | undefined;
  IDENTITY_ENDPOINT?: string | undefined;
  IDENTITY_HEADER?: string | undefined;
}

const invalid = (message: string, cause?: unknown) => new DeckhandError(ErrorCode.EnvInvalid, message, {}, cause === undefined ? undefined : { cause });

/**
 * The credential the environment names (loadEnv has checked that exactly one is set). Reads and
 * checks the certificate file here, at start-up, so a bad file stops Deckhand with its name.
 */
export function teamsCredentialFromEnv(env: CredentialEnv): TeamsCredential {
  const appId = env.TEAMS_APP_ID ?? '';
  if (env.TEAMS_CERTIFICATE_PATH) return certificateCredential(appId, env.TEAMS_CERTIFICATE_PATH);
  if (env.TEAMS_MANAGED_IDENTITY) {
    if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) return { kind: 'managed-identity', appId, endpoint: { style: 'app-service', url: env.IDENTITY_ENDPOINT, header: env.IDENTITY_HEADER } };
    return { kind: 'managed-identity', appId, endpoint: { style: 'imds', url: env.TEAMS_IMDS_URL ?? defaultImdsUrl } };
  }
  if (env.TEAMS_APP_PASSWORD) return { kind: 'secret', appId, appPassword: env.TEAMS_APP_PASSWORD };
  throw invalid('Microsoft Teams needs one credential: TEAMS_APP_PASSWORD, TEAMS_CERTIFICATE_PATH or TEAMS_MANAGED_IDENTITY=true');
}

function certificateCredential(appId: string, file: string): TeamsCredential {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(`TEAMS_CERTIFICATE_PATH: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`, err);
  }
  const fix = 'it must hold the unencrypted private key and the certificate, both PEM (e.g. cat key.pem cert.pem > bot.pem)';
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) throw invalid(`TEAMS_CERTIFICATE_PATH: the private key in ${file} is encrypted; ${fix}.`);
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(pem)) throw invalid(`TEAMS_CERTIFICATE_PATH: ${file} holds no private key (-----BEGIN PRIVATE KEY-----); ${fix}.`);
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw invalid(`TEAMS_CERTIFICATE_PATH: ${file} holds no certificate (-----BEGIN CERTIFICATE-----); ${fix}.`);
  let privateKey: KeyObject;
  let certificate: X509Certificate;
  try {
    privateKey = createPrivateKey(pem);
    certificate = new X509Certificate(pem);
  } catch (err) {
    // OpenSSL's words only (never the file's content).
    throw invalid(`TEAMS_CERTIFICATE_PATH: ${file} is not a readable PEM key and certificate (${(err as Error).message}); ${fix}.`, err);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw invalid(`TEAMS_CERTIFICATE_PATH: the key in ${file} is ${privateKey.asymmetricKeyType ?? 'not RSA'}; Microsoft Entra ID takes RSA certificates for client assertions.`);
  if (!certificate.checkPrivateKey(privateKey)) throw invalid(`TEAMS_CERTIFICATE_PATH: the private key in ${file} does not belong to its certificate (${certificate.subject}).`);
  return { kind: 'certificate', appId, privateKey, x5tS256: Buffer.from(certificate.fingerprint256.replace(/:/g, ''), 'hex').toString('base64url'), notAfter: certificate.validTo };
}

/** Names the variables a refusal is about (never their values). */
export function describeCredential(credential: TeamsCredential): string {
  switch (credential.kind) {
    case 'secret':
      return 'TEAMS_APP_ID / TEAMS_APP_PASSWORD / TEAMS_TENANT_ID';
    case 'certificate':
      return 'TEAMS_APP_ID / TEAMS_CERTIFICATE_PATH / TEAMS_TENANT_ID';
    case 'managed-identity':
      return `the managed identity TEAMS_APP_ID (${credential.endpoint.style === 'app-service' ? 'IDENTITY_ENDPOINT' : 'IMDS at TEAMS_IMDS_URL'})`;
  }
}

export interface TokenRequest {
  authorityUrl: string;
  tenantId: string;
  timeoutMs: number;
  /** Milliseconds since the epoch (tests move it). */
  now: () => number;
}

/** A token and when it stops being valid (ms since the epoch). */
export interface AccessToken {
  token: string;
  expiresAt: number;
}

/**
 * The client assertion for the certificate credential, as Microsoft identity platform's
 * "certificate credentials" article specifies: PS256 with `x5t#S256`, aud = the token endpoint,
 * iss = sub = the app id, a fresh jti, valid from now for ten minutes (as MSAL does).
 */
export async function clientAssertion(credential: Extract<TeamsCredential, { kind: 'certificate' }>, tokenUrl: string, nowMs: number): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': credential.x5tS256 })
    .setAudience(tokenUrl)
    .setIssuer(credential.appId)
    .setSubject(credential.appId)
    .setJti(randomUUID())
    .setNotBefore(now)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(credential.privateKey);
}

/** One token request with the credential; a refusal is a ConnectorError naming the variables. */
export async function acquireToken(credential: TeamsCredential, request: TokenRequest): Promise<AccessToken> {
  const sent = request.now();
  let response: Response;
  try {
    if (credential.kind === 'managed-identity') {
      const { endpoint } = credential;
      const url = new URL(endpoint.url);
      url.searchParams.set('api-version', endpoint.style === 'app-service' ? '2019-08-01' : '2018-02-01');
      url.searchParams.set('resource', botFrameworkResource);
      url.searchParams.set('client_id', credential.appId);
      const headers: Record<string, string> = endpoint.style === 'app-service' ? { 'x-identity-header': endpoint.header } : { metadata: 'true' };
      response = await fetch(url, { headers, signal: AbortSignal.timeout(request.timeoutMs) });
    } else {
      const tokenUrl = `${request.authorityUrl.replace(/\/+$/, '')}/${encodeURIComponent(request.tenantId)}/oauth2/v2.0/token`;
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: credential.appId, scope: botFrameworkScope });
      if (credential.kind === 'secret') form.set('client_secret', credential.appPassword);
      else {
        form.set('client_assertion_type', clientAssertionType);
        form.set('client_assertion', await clientAssertion(credential, tokenUrl, sent));
      }
      response = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form, signal: AbortSignal.timeout(request.timeoutMs) });
    }
  } catch (err) {
    const where = credential.kind === 'managed-identity' ? 'the managed identity endpoint' : 'the token authority';
    throw new ConnectorError(`could not reach ${where}: ${err instanceof Error ? err.message : String(err)}`, 0, null);
  }
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; expires_on?: unknown; error?: unknown; error_description?: unknown; message?: unknown };
  if (!response.ok || typeof body.access_token !== 'string') {
    // The description names the problem (AADSTS7000215: invalid secret); it never holds a secret.
    const described = typeof body.error_description === 'string' ? body.error_description : typeof body.message === 'string' ? body.message : '';
    const why = described ? described.split(/\r?\n/)[0] : `HTTP ${response.status}`;
    throw new ConnectorError(`${credential.kind === 'managed-identity' ? 'the managed identity endpoint' : 'the token authority'} refused ${describeCredential(credential)}: ${why}`, response.status, retryAfter(response.headers.get('retry-after')));
  }
  return { token: body.access_token, expiresAt: expiry(body, sent) };
}

/**
 * Entra answers `expires_in` (seconds, a number); IMDS and the App Service endpoint answer
 * strings, and App Service (2019-08-01) only `expires_on` (epoch seconds). One hour when absent.
 */
function expiry(body: { expires_in?: unknown; expires_on?: unknown }, sent: number): number {
  const expiresIn = Number(body.expires_in);
  if (body.expires_in !== undefined && Number.isFinite(expiresIn) && expiresIn > 0) return sent + expiresIn * 1000;
  const expiresOn = Number(body.expires_on);
  if (body.expires_on !== undefined && Number.isFinite(expiresOn) && expiresOn > 0) return expiresOn * 1000;
  return sent + 3_600_000;
}

/** The bot's Bot Connector tokens with this credential, cached and shared (see TokenSource). */
export function tokenSourceFor(credential: TeamsCredential, options: { tenantId: string; authorityUrl: string; timeoutMs?: number; now?: () => number }): TokenSource {
  const now = options.now ?? Date.now;
  return new TokenSource(() => acquireToken(credential, { authorityUrl: options.authorityUrl, tenantId: options.tenantId, timeoutMs: options.timeoutMs ?? 10_000, now }), now);
}

/**
 * A certificate that has expired (Entra ID refuses its assertions) or expires within 30 days, said
 * at start so it is renewed before Teams goes quiet; null otherwise.
 */
export function certificateExpiryNotice(credential: TeamsCredential, now: Date): { level: 'warn' | 'error'; message: string } | null {
  if (credential.kind !== 'certificate') return null;
  const notAfter = new Date(credential.notAfter);
  const days = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
  if (notAfter <= now) return { level: 'error', message: `the Teams certificate (TEAMS_CERTIFICATE_PATH) expired on ${notAfter.toISOString()}: Microsoft Entra ID refuses it; upload a new one to the app registration` };
  if (days < 30) return { level: 'warn', message: `the Teams certificate (TEAMS_CERTIFICATE_PATH) expires on ${notAfter.toISOString()}, in ${days} day${days === 1 ? '' : 's'}: upload a new one to the app registration and point TEAMS_CERTIFICATE_PATH at it` };
  return null;
}
