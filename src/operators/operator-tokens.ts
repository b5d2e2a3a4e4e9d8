import { randomBytes } from 'node:crypto';
import { parseDuration } from '../config/duration.js';
import type { Clock } from '../core/clock.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { OperatorToken } from '../core/model.js';
import type { Actor } from '../core/permissions.js';
import { hashToken } from '../http/api-tokens.js';
import type { Store } from '../store/types.js';

/**
 * Operator API tokens (`deckhand token create --name ci --role deployers --expires 90d`): long-lived
 * bearer tokens for people and CI. A token acts as `token:<name>` with exactly the permissions of
 * its one role, checked by the same code as chat (src/core/permissions.ts). Only a SHA-256 hash is
 * stored; the plaintext is shown once, when it is made. The `dho_` prefix tells it from the run
 * tokens scripts get (`dh_`), and lets secret scanners recognise it.
 */
export const operatorTokenPrefix = 'dho_';

/** Who a valid operator token is: the actor the action layer sees, and the role it acts with. */
export interface OperatorIdentity {
  actor: Actor;
  role: string;
  tokenName: string;
}

export interface CreateOperatorTokenInput {
  name: string;
  role: string;
  /** "90d", "12h", "2w", or milliseconds; absent: the token does not expire. */
  expiresIn?: string | number;
  /** Who made it (audit); default "cli". */
  createdBy?: string;
  /** The configured role names: when given, an unknown role is refused with this list. */
  roles?: readonly string[];
}

/** A token as listed: never the hash. */
export type OperatorTokenInfo = Omit<OperatorToken, 'hash'> & { expired: boolean };

const namePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const dayMs = 24 * 3_600_000;

/** "90d", "2w", or anything parseDuration reads ("12h", "30m"); null when it is not a positive duration. */
export function parseTokenLifetime(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text > 0 ? text : null;
  const long = /^\s*(\d+)\s*(d|w)\s*$/.exec(text);
  if (long) {
    const ms = Number(long[1]) * (long[2] === 'w' ? 7 * dayMs : dayMs);
    return ms > 0 && ms <= 3650 * dayMs ? ms : null;
  }
  return parseDuration(text);
}

export async function createOperatorToken(store: Store, clock: Clock, input: CreateOperatorTokenInput): Promise<{ token: string; record: OperatorTokenInfo }> {
  if (!namePattern.test(input.name)) {
    throw new DeckhandError(ErrorCode.Usage, `"${input.name}" is not a usable token name: use letters, digits, ".", "_" or "-" (at most 63), e.g. ci or deploy-bot.`);
  }
  if (input.roles && !input.roles.includes(input.role)) {
    throw new DeckhandError(ErrorCode.Usage, `No role called "${input.role}". Roles: ${input.roles.join(', ') || 'none (add one under roles: in the config)'}.`, { roles: [...input.roles] });
  }
  let ttl: number | null = null;
  if (input.expiresIn !== undefined) {
    ttl = parseTokenLifetime(input.expiresIn);
    if (ttl === null) throw new DeckhandError(ErrorCode.Usage, `"${input.expiresIn}" is not a lifetime: write e.g. 90d, 2w or 12h.`);
  }
  const token = `${operatorTokenPrefix}${randomBytes(32).toString('base64url')}`;
  const now = clock.now();
  const record = await store.createOperatorToken(
    {
      name: input.name,
      hash: hashToken(token),
      role: input.role,
      createdBy: input.createdBy ?? 'cli',
      createdAt: now.toISOString(),
      expiresAt: ttl === null ? null : new Date(now.getTime() + ttl).toISOString(),
    },
    now.toISOString(),
  );
  return { token, record: info(record, now) };
}

/** The identity of a valid operator token (not revoked, not expired); null for anything else. */
export async function authenticateOperatorToken(store: Store, clock: Clock, plaintext: string): Promise<OperatorIdentity | null> {
  if (!plaintext.startsWith(operatorTokenPrefix) || plaintext.length > 200) return null;
  const token = await store.findOperatorToken(hashToken(plaintext), clock.now().toISOString());
  if (!token) return null;
  return { actor: operatorActor(token), role: token.role, tokenName: token.name };
}

/** The actor an operator token acts as: `token:<name>`, with exactly its role. */
export function operatorActor(token: Pick<OperatorToken, 'name' | 'role'>): Actor {
  return { id: `token:${token.name}`, name: token.name, roles: [token.role] };
}

export async function listOperatorTokens(store: Store, clock: Clock): Promise<OperatorTokenInfo[]> {
  const now = clock.now();
  return (await store.listOperatorTokens()).map((t) => info(t, now));
}

/** Revokes the live token called `name`; throws E_NOT_FOUND when there is none. */
export async function revokeOperatorToken(store: Store, clock: Clock, name: string): Promise<OperatorTokenInfo> {
  const now = clock.now();
  const revoked = await store.revokeOperatorToken(name, now.toISOString());
  if (!revoked) throw new DeckhandError(ErrorCode.NotFound, `No token called "${name}" (revoked tokens are gone). See deckhand token list.`, { name });
  return info(revoked, now);
}

function info(token: OperatorToken, now: Date): OperatorTokenInfo {
  const { hash: _hash, ...rest } = token;
  return { ...rest, expired: token.expiresAt !== null && token.expiresAt <= now.toISOString() };
}
