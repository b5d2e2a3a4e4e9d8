import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/types.js';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Mints a bearer token for the REST API; only its hash is stored. Revoke it when the run ends. */
export async function mintApiToken(store: Store, clock: Clock, grant: { actor: string; scopes: string[]; ttlMs: number }): Promise<{ token: string; revoke: () => Promise<void> }> {
  const token = `dh_${randomBytes(24).toString('base64url')}`;
  const hash = hashToken(token);
  const now = clock.now();
  await store.createApiToken({ hash, actor: grant.actor, scopes: grant.scopes, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + grant.ttlMs).toISOString() });
  return { token, revoke: () => store.revokeApiToken(hash) };
}
