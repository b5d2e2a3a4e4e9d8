import { createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTHeaderParameters, type JWTVerifyGetKey } from 'jose';

/** Where Bot Framework (public cloud) publishes its signing keys; sovereign clouds and tests set TEAMS_OPENID_METADATA_URL. */
export const defaultOpenIdMetadataUrl = 'https://login.botframework.com/v1/.well-known/openidconfiguration';

export interface VerifiedActivityToken {
  /** The `serviceurl` claim: the only connector this activity may be answered through. */
  serviceUrl: string;
  /**
   * The `endorsements` of the JWKS key that signed the token: the channel ids that key may sign
   * activities for. Empty when the key lists none (then, as in the Bot Framework SDK, any channel).
   */
  endorsements: readonly string[];
}

/** Thrown for every token that is missing or does not verify: the request gets 401. */
export class TeamsAuthError extends Error {}

/**
 * Whether the key that signed an activity's token may sign for the activity's channel. The rule of
 * the Bot Framework SDK (botbuilder-js botframework-connector, auth/jwtTokenExtractor.ts and
 * auth/endorsementsValidator.ts): a key without endorsements (absent or empty) signs for any
 * channel; otherwise the activity's `channelId` must be one of them. One difference: the SDK lets an
 * activity without a `channelId` through; Deckhand, which takes Teams activities only (Teams always
 * sends `msteams`), refuses it when the key is endorsed for named channels only.
 */
export function endorsesChannel(token: Pick<VerifiedActivityToken, 'endorsements'>, channelId: string | undefined): boolean {
  if (token.endorsements.length === 0) return true;
  return channelId !== undefined && channelId.trim() !== '' && token.endorsements.includes(channelId);
}

/**
 * The endorsements of the one key in `jwks` that jose picked for `header` (same selection: the
 * `kid`, and the key's `alg` / `use` when it names them). Anything but exactly one match is refused.
 */
function endorsementsOf(jwks: JSONWebKeySet | undefined, header: JWTHeaderParameters): readonly string[] {
  const matches = (jwks?.keys ?? []).filter((key) => (header.kid === undefined || key.kid === header.kid) && (key.alg === undefined || key.alg === header.alg) && (key.use === undefined || key.use === 'sig'));
  if (matches.length !== 1) throw new TeamsAuthError('the signing key is not the one key of its kid in the JWKS');
  const endorsements = (matches[0] as { endorsements?: unknown }).endorsements;
  if (endorsements === undefined) return [];
  if (!Array.isArray(endorsements) || !endorsements.every((e): e is string => typeof e === 'string')) throw new TeamsAuthError('the signing key\'s endorsements are not a list of channel ids');
  return endorsements;
}

/**
 * Verifies the bearer token that Teams (the Bot Framework channel service) signs every activity
 * with, as the Bot Framework authentication docs list it: RS256 with a key from the JWKS that the
 * OpenID metadata names, `iss` the metadata's issuer (https://api.botframework.com), `aud` the
 * bot's app id, within nbf/exp (5 minutes of clock skew), and a `serviceurl` claim. The metadata
 * and keys are fetched on first use and cached by jose (refetched when an unknown `kid` arrives).
 * The signing key's `endorsements` come back with the claim: the caller checks them against the
 * activity's `channelId` (endorsesChannel) once it has read the body.
 */
export function createActivityTokenVerifier(options: { appId: string; openIdMetadataUrl: string; fetchTimeoutMs?: number }) {
  let keys: Promise<{ issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> }> | null = null;
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
    // The key set as jose had it when it picked the key (a rollover may refetch it later).
    let endorsements: readonly string[] | null = null;
    const getKey: JWTVerifyGetKey = async (header, jws) => {
      const key = await jwks(header, jws);
      endorsements = endorsementsOf(jwks.jwks(), header);
      return key;
    };
    try {
      const { payload } = await jwtVerify(token, getKey, { issuer, audience: options.appId, algorithms: ['RS256'], clockTolerance: 300 });
      if (typeof payload.serviceurl !== 'string' || !/^https?:\/\//.test(payload.serviceurl)) throw new TeamsAuthError('the token has no serviceurl claim');
      if (endorsements === null) throw new TeamsAuthError('the signing key was not looked up');
      return { serviceUrl: payload.serviceurl, endorsements };
    } catch (err) {
      if (err instanceof TeamsAuthError || err instanceof errors.JOSEError) throw new TeamsAuthError(err instanceof Error ? err.message : String(err));
      throw err;
    }
  };
}
