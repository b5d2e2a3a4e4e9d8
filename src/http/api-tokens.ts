import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import type { ApiTokenRun } from '../core/model.js';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** What a REST API token may be allowed to do; a reaction's script lists what it needs under `api:`. */
export const apiScopes = ['deploy', 'release', 'message', 'read'] as const;
export type ApiScope = (typeof apiScopes)[number];

export interface ApiTokenGrant {
  /** Who the token acts as, with that actor's roles (e.g. reaction:<name>). */
  actor: string;
  scopes: readonly ApiScope[];
  ttlMs: number;
  /** The job run the token is for: it stops working when that run is over, even if nobody revokes it. */
  run?: ApiTokenRun | null;
}

/** Mints a bearer token for the REST API; only its hash is stored. Revoke it when the run ends. */
export async function mintApiToken(store: Store, clock: Clock, grant: ApiTokenGrant): Promise<{ token: string; revoke: () => Promise<void> }> {
  const token = `dh_${randomBytes(24).toString('base64url')}`;
  const hash = hashToken(token);
  const now = clock.now();
  // Each new token clears away the dead ones, so the table holds little more than the runs going on.
  await store.pruneApiTokens(now.toISOString());
  await store.createApiToken({ hash, actor: grant.actor, scopes: [...grant.scopes], createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + grant.ttlMs).toISOString(), run: grant.run ?? null });
  return { token, revoke: () => store.revokeApiToken(hash) };
}

/** At start: tokens of runs a killed process left behind, and expired ones, are deleted. */
export async function revokeDeadApiTokens(store: Store, clock: Clock, logger: Logger): Promise<void> {
  const revoked = await store.pruneApiTokens(clock.now().toISOString());
  if (revoked > 0) logger.info({ revoked }, 'revoked API tokens of runs that are over (expired or interrupted)');
}
