import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../core/permissions.js';
import type { Logger } from '../core/logger.js';

export const sessionCookie = 'deckhand_session';
/** How long a console session lasts; signing in again starts a new one. */
export const sessionMs = 8 * 60 * 60 * 1000;

/** What the signed cookie carries: who, how they signed in, and until when it counts. */
const sessionSchema = z.object({
  id: z.string().min(1).max(200),
  name: z.string().max(200).optional(),
  /** Roles that came with the sign-in (an operator token's role); otherwise membership in the config decides. */
  roles: z.array(z.string().max(100)).max(20).optional(),
  via: z.enum(['token', 'slack']),
  /**
   * Signed in with an operator token: its SHA-256 (as stored; useless without the token itself),
   * so every request checks the token is still live and a revoked token ends its sessions at once.
   */
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Expiry, in ms since the epoch: checked here, not only by the browser's Max-Age. */
  exp: z.number().int().positive(),
});
export type Session = z.infer<typeof sessionSchema>;

/**
 * The secret that signs sessions and CSRF secrets: DECKHAND_CONSOLE_SECRET, or a random one for
 * this process only (then sessions end when it restarts and are not recognised by another replica).
 */
export function consoleSecret(configured: string | undefined, logger: Logger): string {
  if (configured) return configured;
  // info, not warn: on a laptop's terminal (whose log shows warnings) the console hardly matters.
  logger.info('DECKHAND_CONSOLE_SECRET is not set: console sessions use a random secret of this process, so they end when it restarts and do not work across replicas');
  return randomBytes(32).toString('hex');
}

export function actorOf(session: Session): Actor {
  return { id: session.id, ...(session.name ? { name: session.name } : {}), ...(session.roles ? { roles: session.roles } : {}) };
}

/** The signed-in person, or null: no cookie, a forged or tampered one, or one past its expiry. */
export function readSession(request: FastifyRequest, now: Date): Session | null {
  const cookie = request.cookies[sessionCookie];
  if (!cookie) return null;
  const unsigned = request.unsignCookie(cookie);
  if (!unsigned.valid || unsigned.value === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const session = sessionSchema.safeParse(parsed);
  if (!session.success || session.data.exp <= now.getTime()) return null;
  return session.data;
}

export interface CookieSecurity {
  /** Secure cookies when the console is reached over https (DECKHAND_PUBLIC_URL). */
  secure: boolean;
}

export function writeSession(reply: FastifyReply, session: Omit<Session, 'exp'>, now: Date, security: CookieSecurity): void {
  const value = Buffer.from(JSON.stringify({ ...session, exp: now.getTime() + sessionMs })).toString('base64url');
  reply.setCookie(sessionCookie, value, { signed: true, httpOnly: true, sameSite: 'lax', secure: security.secure, path: '/console', maxAge: sessionMs / 1000 });
}

export function clearSession(reply: FastifyReply, security: CookieSecurity): void {
  reply.clearCookie(sessionCookie, { path: '/console', httpOnly: true, sameSite: 'lax', secure: security.secure });
}
