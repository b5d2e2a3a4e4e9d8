import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

/** Where Bot Framework (public cloud) publishes its signing keys; sovereign clouds and tests set TEAMS_OPENID_METADATA_URL. */
export const defaultOpenIdMetadataUrl = 'https://login.botframework.com/v1/.well-known/openidconfiguration';

export interface VerifiedActivityToken {
  /** The `serviceurl` claim: the only connector this activity may be answered through. */
  serviceUrl: string;
}

/** Thrown for every token that is missing or does not verify: the request gets 401. */
export class TeamsAuthError extends Error {}

/**
 * Verifies the bearer token that Teams (the Bot Framework channel service) signs every activity
 * with, as the Bot Framework authentication docs list it: RS256 with a key from the JWKS that the
 * OpenID metadata names, `iss` the metadata's issuer (https://api.botframework.com), `aud` the
 * bot's app id, within nbf/exp (5 minutes of clock skew), and a `serviceurl` claim. The metadata
 * and keys are fetched on first use and cached by jose (refetched when an unknown `kid` arrives).
 */
export function createActivityTokenVerifier(options: { appId: string; openIdMetadataUrl: string; fetchTimeoutMs?: number }) {
  let keys: Promise<{ issuer: string; jwks: JWTVerifyGetKey }> | null = null;
  const load = async () => {
    const response = await fetch(options.openIdMetadataUrl, { signal: AbortSignal.timeout(options.fetchTimeoutMs ?? 10_000) });
    if (!response.ok) throw new Error(`the Bot Framework OpenID metadata answered HTTP ${response.status}`);
    const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (typeof metadata.issuer !== 'string' || typeof metadata.jwks_uri !== 'string') throw new Error('the Bot Framework OpenID metadata has no issuer or jwks_uri');
    return { issuer: metadata.issuer, jwks: createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: options.fetchTimeoutMs ?? 10_000 }) };
  };

  return async function verify(authorization: string | undefined): Promise<VerifiedActivityToken> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new TeamsAuthError('no bearer token');
    // A failed metadata fetch is not cached: the next activity tries again.
    keys ??= load().catch((err: unknown) => {
      keys = null;
      throw err;
    });
    const { issuer, jwks } = await keys;
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, audience: options.appId, algorithms: ['RS256'], clockTolerance: 300 });
      if (typeof payload.serviceurl !== 'string' || !/^https?:\/\//.test(payload.serviceurl)) throw new TeamsAuthError('the token has no serviceurl claim');
      return { serviceUrl: payload.serviceurl };
    } catch (err) {
      if (err instanceof TeamsAuthError || err instanceof errors.JOSEError) throw new TeamsAuthError(err instanceof Error ? err.message : String(err));
      throw err;
    }
  };
}
