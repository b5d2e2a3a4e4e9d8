import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actions } from '../actions/index.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { can, type Actor, type Permission } from '../core/permissions.js';
import type { DisabledReaction, Reaction } from '../reactions/load-reactions.js';
import type { OperatorContext } from '../operators/operator-actions.js';
import type { Store } from '../store/types.js';
import { layout, sendPage } from './layout.js';
import type { Html } from './html.js';
import { actorOf, type CookieSecurity, type Session } from './session.js';
import type { SlackOidcOptions } from './slack-oidc.js';

/** What the console's pages need; built once in src/app.ts. */
export interface ConsoleContext {
  config: DeckhandConfig;
  store: Store;
  clock: Clock;
  logger: Logger;
  actions: Actions;
  reactions: readonly Reaction[];
  disabledReactions: readonly DisabledReaction[];
  /** Values masked wherever stored payloads are shown (config secrets; reactions add their own). */
  secrets: readonly string[];
  /** Deckhand's public base URL (the Slack redirect URI is built from it). */
  publicUrl: () => string;
  /** "Sign in with Slack", when the Slack app's OAuth client is configured. */
  slack?: SlackOidcOptions | undefined;
  /** Wakes the job worker after a replay or retry, so it looks at once. */
  wake: () => void;
  cookies: CookieSecurity;
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: Session;
  }
}

/** What the operator actions (src/operators, shared with /api/v1) need, from the console's context. */
export const operatorContext = (ctx: ConsoleContext): OperatorContext => ({ config: ctx.config, store: ctx.store, clock: ctx.clock, secrets: () => ctx.secrets, wake: ctx.wake });

export function actorFor(request: FastifyRequest): Actor {
  if (!request.consoleSession) throw new DeckhandError(ErrorCode.Forbidden, 'Sign in first.');
  return actorOf(request.consoleSession);
}

export const may = (ctx: ConsoleContext, actor: Actor, permission: Permission): boolean => can(ctx.config, actor, permission);

/** Query parameters and form fields: a schema that does not match is a 400 naming the field, never a 5xx. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new DeckhandError(ErrorCode.Usage, result.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
  return result.data;
}

/** A query parameter left empty in a GET form means "any". */
export const optionalText = (max = 200) =>
  z.preprocess((v) => (v === '' ? undefined : v), z.string().max(max).optional());
export const optionalId = z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional());

export const noticeCookie = 'deckhand_notice';

/** Reads (and clears) the one-time notice a POST left for the page it redirected to. */
export function takeNotice(request: FastifyRequest, reply: FastifyReply): string | null {
  const cookie = request.cookies[noticeCookie];
  if (!cookie) return null;
  reply.clearCookie(noticeCookie, { path: '/console' });
  const unsigned = request.unsignCookie(cookie);
  return unsigned.valid && unsigned.value ? unsigned.value.slice(0, 500) : null;
}

/** Post/redirect/get: the result of a POST is shown once on the page it returns to (303). */
export function redirectWithNotice(reply: FastifyReply, ctx: ConsoleContext, to: string, notice: string): FastifyReply {
  reply.setCookie(noticeCookie, notice.slice(0, 500), { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.cookies.secure, path: '/console', maxAge: 60 });
  return reply.code(303).header('location', to).send();
}

/** Renders a page of the signed-in console (navigation, notice, CSRF token for its forms). */
export function renderPage(request: FastifyRequest, reply: FastifyReply, page: { title: string; section: string; body: (csrf: string) => Html }): FastifyReply {
  const csrf = reply.generateCsrf();
  const notice = takeNotice(request, reply);
  return sendPage(reply, 200, layout({ title: page.title, section: page.section, actor: actorFor(request), csrf, notice }, page.body(csrf)));
}
