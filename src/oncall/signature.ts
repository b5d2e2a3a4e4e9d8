import { createHmac } from 'node:crypto';

/**
 * Splunk On-Call's X-VictorOps-Signature for an escalation webhook: base64 of HMAC-SHA1, keyed by
 * the webhook's auth key, over the webhook URL exactly as configured followed by every POST
 * parameter, sorted by name (code-unit order), each name followed by its decoded value.
 */
export function victorOpsSignature(authKey: string, url: string, params: URLSearchParams): string {
  const pairs = [...params.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHmac('sha1', authKey)
    .update(url + pairs.map(([k, v]) => k + v).join(''))
    .digest('base64');
}
