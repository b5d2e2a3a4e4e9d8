import { REDACTED } from '../providers/script/redact.js';

// Query parameters that carry credentials: ?apiKey= on /triggers, ?token= on log pages, and the
// usual names other senders use. Matched in URLs anywhere in a line (request logs, error messages).
const queryCredential = /([?&](?:api[-_]?key|apikey|key|token|access[-_]?token|auth|secret|password|sig|signature|code)=)[^&#\s"'\\]+/gi;

// JSON properties whose string value is a credential, at any depth: token, logToken, apiKey,
// webhookSecret, password, authorization, cookie, privateKey, x-api-key, DECKHAND_API_TOKEN ...
const credentialProperty = /("[^"\\]*(?:token|secret|password|passwd|api[-_]?key|authorization|cookie|private[-_]?key)[^"\\]*"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

// user:password@ in URLs.
const urlUserinfo = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s"'@:]+:[^/\s"'@]+@/gi;

// Token formats that are secret wherever they appear: Deckhand API tokens, Slack tokens.
const knownTokens = /\b(dh_|xox[abposr]-|xapp-)[A-Za-z0-9_-]{8,}/g;

/**
 * Masks credentials in one serialised log line (pino's JSON). Runs on every line at every level,
 * after serialisers, so nested objects, error details and URLs inside messages are all covered.
 */
export function redactLogLine(line: string): string {
  return line
    .replace(queryCredential, `$1${REDACTED}`)
    .replace(credentialProperty, `$1"${REDACTED}"`)
    .replace(urlUserinfo, `$1${REDACTED}@`)
    .replace(knownTokens, `$1${REDACTED}`);
}
