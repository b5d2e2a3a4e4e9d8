import { randomBytes, randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { asDeckhandError, DeckhandError, ErrorCode, httpStatusFor } from '../core/errors.js';
import { hashToken } from '../http/api-tokens.js';
import { safeEqual } from '../http/webhook-body.js';
import { authenticateOperatorToken } from '../operators/operator-tokens.js';
import { storeRetryAfterSeconds } from '../store/store-unavailable.js';
import { type ConsoleContext, parseInput, redirectWithNotice, takeNotice } from './context.js';
import { html } from './html.js';
import { consoleCss, csrfField, layout, sendPage } from './layout.js';
import { registerAuditPage } from './pages/audit.js';
import { registerDeliveryPages } from './pages/deliveries.js';
import { registerDeploymentPages } from './pages/deployments.js';
import { registerJobPages } from './pages/jobs.js';
import { registerLockPages } from './pages/locks.js';
import { registerReactionPage } from './pages/reactions.js';
import { clearSession, readSession, writeSession, type Session } from './session.js';
import { slackAuthorizeUrl, slackUserFromCode } from './slack-oidc.js';

export type { ConsoleContext } from './context.js';

/** Pages anyone may load: signing in, and the stylesheet. */
const open = new Set(['/console/sign-in', '/console/auth/slack', '/console/auth/slack/callback', '/console/assets/console.css']);
const stateCookie = 'deckhand_oidc_state';

/**
 * The web console at /console: server-rendered pages over the store and the action layer, signed
 * in with an operator token or with Slack. Everything it changes goes through the same actions and
 * permission checks as chat, as the signed-in person. Its cookies, form parsing and CSRF checks
 * live in this scope only; the rest of the server is untouched.
 */
export async function registerConsole(http: FastifyInstance, ctx: ConsoleContext, secret: string): Promise<void> {
  await http.register(
    async (app) => {
      await app.register(fastifyCookie, { secret });
      await app.register(fastifyFormbody, { bodyLimit: 64 * 1024 });
      await app.register(fastifyCsrf, {
        sessionPlugin: '@fastify/cookie',
        cookieKey: 'deckhand_csrf',
        cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.cookies.secure, path: '/console' },
        getToken: (request) => {
          const body = request.body as Record<string, unknown> | null | undefined;
          return typeof body?._csrf === 'string' ? body._csrf : undefined;
        },
      });

      app.addHook('onRequest', async (request, reply) => {
        const path = request.url.split('?')[0] ?? '';
        const session = await liveSession(ctx, request);
        if (session) request.consoleSession = session;
        if (session || open.has(path)) return;
        if (request.method === 'GET' || request.method === 'HEAD') return reply.code(303).header('location', '/console/sign-in').send();
        return sendPage(reply, 401, errorPage('Signed out', 'Your session ended (or never began): sign in again.', null));
      });
      // Every POST is a form of this console's (JSON and other bodies are for /api/v1) and carries
      // the CSRF token of a page this console rendered.
      app.addHook('preHandler', (request, reply, done) => {
        if (request.method !== 'POST') return done();
        if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')) {
          return void sendPage(reply, 415, errorPage('Not a form', 'The console takes HTML forms only; scripts use /api/v1.', request));
        }
        app.csrfProtection(request, reply, done);
      });

      app.setErrorHandler((err: unknown, request, reply) => {
        const fastifyStatus = (err as { statusCode?: number }).statusCode;
        const code = (err as { code?: string }).code ?? '';
        if (code.startsWith('FST_CSRF')) {
          return sendPage(reply, 403, errorPage('Form expired', 'This form was not one this console gave you, or it has expired: reload the page and try again.', request));
        }
        if (fastifyStatus && fastifyStatus < 500 && !(err instanceof DeckhandError)) return sendPage(reply, fastifyStatus, errorPage('Bad request', (err as Error).message, request));
        const error = asDeckhandError(err);
        const status = httpStatusFor(error);
        if (error.code === ErrorCode.StoreUnavailable) reply.header('retry-after', String(storeRetryAfterSeconds));
        if (status >= 500 && error.code !== ErrorCode.StoreUnavailable && error.code !== ErrorCode.Upstream) {
          const errorId = randomUUID();
          request.log.error({ err, errorId }, 'console request failed');
          return sendPage(reply, 500, errorPage('Something went wrong', `Deckhand failed to do that (error id ${errorId}, in its log).`, request));
        }
        return sendPage(reply, status, errorPage(status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Could not do that', error.message, request));
      });
      app.setNotFoundHandler((request, reply) => sendPage(reply, 404, errorPage('Not found', 'There is no such page in the console.', request)));

      app.get('/assets/console.css', async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(consoleCss));
      app.get('/', async (_request, reply) => reply.code(303).header('location', '/console/deployments').send());
      registerSignIn(app, ctx);
      registerDeploymentPages(app, ctx);
      registerLockPages(app, ctx);
      registerDeliveryPages(app, ctx);
      registerJobPages(app, ctx);
      registerReactionPage(app, ctx);
      registerAuditPage(app, ctx);
    },
    { prefix: '/console' },
  );
}

/** The request's session, if it has one that still counts: signed, not expired, and (for a token) the token not revoked. */
async function liveSession(ctx: ConsoleContext, request: FastifyRequest): Promise<Session | null> {
  const session = readSession(request, ctx.clock.now());
  if (!session || session.via !== 'token') return session;
  const token = session.tokenHash ? await ctx.store.findOperatorToken(session.tokenHash, ctx.clock.now().toISOString()) : null;
  // The token's role now, should it have changed since sign-in.
  return token ? { ...session, roles: [token.role] } : null;
}

function errorPage(title: string, message: string, request: FastifyRequest | null): string {
  const session = request?.consoleSession;
  const actor = session ? { id: session.id, ...(session.name ? { name: session.name } : {}) } : null;
  // No CSRF token here (an error page has no forms): sign out from any other page.
  return layout({ title, actor, csrf: '' }, html`<p class="error" role="alert">${message}</p><p><a href="/console">Back to the console</a></p>`);
}

const signInForm = z.object({ token: z.string().min(1, 'paste an operator token').max(300), _csrf: z.string() });
const callbackQuery = z.object({ code: z.string().min(1).max(500).optional(), state: z.string().min(1).max(200).optional(), error: z.string().max(200).optional() });

function registerSignIn(app: FastifyInstance, ctx: ConsoleContext): void {
  const redirectUri = () => `${ctx.publicUrl().replace(/\/+$/, '')}/console/auth/slack/callback`;

  const signInPage = (request: FastifyRequest, reply: FastifyReply, status = 200, problem: string | null = null) => {
    const csrf = reply.generateCsrf();
    const notice = takeNotice(request, reply);
    const body = html`${problem ? html`<p class="error" role="alert">${problem}</p>` : ''}
${ctx.slack ? html`<p><a class="button" href="/console/auth/slack" data-testid="slack-sign-in"><button type="button" class="primary">Sign in with Slack</button></a></p><p class="muted">or with an operator token:</p>` : ''}
<form method="post" action="/console/sign-in">${csrfField(csrf)}
<label>Operator token <input type="password" name="token" autocomplete="off" required size="50"></label>
<p><button type="submit" class="primary">Sign in</button></p></form>
<p class="muted">Tokens are made with <code>deckhand token create --name NAME --role ROLE</code>; the token acts with that role's permissions.</p>`;
    return sendPage(reply, status, layout({ title: 'Sign in to Deckhand', actor: null, csrf, notice }, body));
  };

  app.get('/sign-in', async (request, reply) => signInPage(request, reply));
  app.post('/sign-in', async (request, reply) => {
    const form = parseInput(signInForm, request.body);
    const identity = await authenticateOperatorToken(ctx.store, ctx.clock, form.token.trim());
    if (!identity) return signInPage(request, reply, 401, 'That token is unknown, revoked or expired.');
    writeSession(reply, { id: identity.actor.id, name: identity.tokenName, roles: [identity.role], via: 'token', tokenHash: hashToken(form.token.trim()) }, ctx.clock.now(), ctx.cookies);
    await ctx.store.appendAudit({ at: ctx.clock.now().toISOString(), actor: identity.actor.id, action: 'console.sign-in', target: 'console', outcome: 'ok', details: { via: 'token', role: identity.role } });
    return reply.code(303).header('location', '/console/deployments').send();
  });
  app.post('/sign-out', async (_request, reply) => {
    clearSession(reply, ctx.cookies);
    return redirectWithNotice(reply, ctx, '/console/sign-in', 'Signed out.');
  });

  app.get('/auth/slack', async (_request, reply) => {
    if (!ctx.slack) throw new DeckhandError(ErrorCode.NotFound, 'Sign in with Slack is not configured (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).');
    const state = randomBytes(24).toString('base64url');
    reply.setCookie(stateCookie, state, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.cookies.secure, path: '/console/auth/slack', maxAge: 600 });
    return reply.code(302).header('location', slackAuthorizeUrl(ctx.slack, redirectUri(), state)).send();
  });
  app.get('/auth/slack/callback', async (request, reply) => {
    if (!ctx.slack) throw new DeckhandError(ErrorCode.NotFound, 'Sign in with Slack is not configured (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).');
    const query = parseInput(callbackQuery, request.query);
    const expected = request.unsignCookie(request.cookies[stateCookie] ?? '');
    reply.clearCookie(stateCookie, { path: '/console/auth/slack' });
    if (query.error) return signInPage(request, reply, 403, `Slack did not sign you in (${query.error}).`);
    if (!query.code || !query.state || !expected.valid || !expected.value || !safeEqual(query.state, expected.value)) {
      return signInPage(request, reply, 400, 'That sign-in link is not the one this browser started (or it is over ten minutes old): sign in again.');
    }
    const user = await slackUserFromCode(ctx.slack, query.code, redirectUri());
    writeSession(reply, { id: user.id, ...(user.name ? { name: user.name } : {}), via: 'slack' }, ctx.clock.now(), ctx.cookies);
    await ctx.store.appendAudit({ at: ctx.clock.now().toISOString(), actor: user.id, action: 'console.sign-in', target: 'console', outcome: 'ok', details: { via: 'slack' } });
    return reply.code(303).header('location', '/console/deployments').send();
  });
}
