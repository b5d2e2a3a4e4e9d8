import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { teamsConversationId } from '../config/schema.js';
import { didYouMean } from '../config/explain-issue.js';
import { eventTypes } from '../core/events.js';
import { apiScopes } from '../http/api-tokens.js';
import { conditionSchema } from './filter.js';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration: write e.g. 10s, 5m` });
    return z.NEVER;
  }
  return ms;
});

const eventName = z.string().refine((e) => (eventTypes as readonly string[]).includes(e), {
  error: (issue) => {
    const near = typeof issue.input === 'string' ? didYouMean(issue.input, eventTypes) : null;
    return `unknown event${near ? ` "${String(issue.input)}": did you mean "${near}"?` : ''}; known events: ${eventTypes.join(', ')}`;
  },
});

const filters = { where: conditionSchema.optional(), unless: conditionSchema.optional() };

const eventTrigger = z.object({ event: z.union([eventName, z.array(eventName).min(1)]), ...filters }).strict();

const webhookTrigger = z
  .object({
    /** Served at POST /triggers/<webhook>. */
    webhook: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a webhook name is lower-case letters, digits, - and _ (it becomes the URL /triggers/<name>)'),
    auth: z
      .object({
        /** Accepted as X-Api-Key, Authorization: Bearer, or ?apiKey=. Use ${secret.X}. */
        api_key: z.string().min(16, 'use a key of at least 16 characters (from ${secret.X})').optional(),
        /** For senders that sign the body. */
        hmac: z
          .object({
            secret: z.string().min(16, 'use a secret of at least 16 characters (from ${secret.X})'),
            header: z.string().default('X-Signature-256'),
            algorithm: z.enum(['sha256', 'sha1']).default('sha256'),
            /** Text before the hex digest, e.g. "sha256=". */
            prefix: z.string().default(''),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((a) => a.api_key !== undefined || a.hmac !== undefined, 'say how senders authenticate: api_key, hmac, or both'),
    ...filters,
  })
  .strict();

const scheduleTrigger = z
  .object({
    schedule: z.string().min(9, 'a cron expression, e.g. "0 9 * * 1-5"'),
    timezone: z.string().default('UTC'),
  })
  .strict();

const httpAction = z
  .object({
    http: z
      .object({
        method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
        url: z.string().min(1),
        headers: z.record(z.string(), z.string()).default({}),
        json: z.unknown().optional(),
        body: z.string().optional(),
        timeout: duration.default(10_000),
        attempts: z.number().int().min(1).max(10).default(4),
      })
      .strict(),
  })
  .strict();

/**
 * Where a chat step posts: `channel:` (the running adapter's room; Slack when Slack and Teams both
 * run, as before Teams), or a platform by name — `slack: "#deploys"`, `teams: "19:…@thread.tacv2"`.
 * Exactly one. A literal Teams id is checked here; one made by a template when it is rendered.
 */
const chatTarget = { channel: z.string().min(1).optional(), slack: z.string().min(1).optional(), teams: z.string().min(1).optional() };
const oneTarget = (chat: { channel?: string | undefined; slack?: string | undefined; teams?: string | undefined }, ctx: z.RefinementCtx) => {
  const named = (['channel', 'slack', 'teams'] as const).filter((k) => chat[k] !== undefined);
  if (named.length !== 1) {
    ctx.addIssue({ code: 'custom', message: named.length === 0 ? 'say where to post: channel:, slack: "#room" or teams: "<conversation id>"' : `name one target, not ${named.join(' and ')}`, path: named.length ? [named[1] as string] : [] });
  }
  if (chat.teams !== undefined && !chat.teams.includes('{{')) {
    const checked = teamsConversationId.safeParse(chat.teams);
    if (!checked.success) ctx.addIssue({ code: 'custom', message: checked.error.issues[0]?.message ?? 'not a Teams conversation id', path: ['teams'] });
  }
};

const chatAction = z
  .object({
    chat: z.union([
      z
        .object({ ...chatTarget, text: z.string().min(1), thread: z.string().optional() })
        .strict()
        .superRefine(oneTarget),
      z
        .object({
          ...chatTarget,
          react: z.string().regex(/^[a-z0-9_+-]+$/, 'an emoji name without colons, e.g. rocket'),
          ts: z.string().min(1),
        })
        .strict()
        .superRefine((chat, ctx) => {
          // Bots cannot add reactions to messages on Teams (the Bot Connector has no such call).
          if (chat.teams !== undefined) ctx.addIssue({ code: 'custom', message: 'Teams has no reactions a bot can add: post a line instead (text:)', path: ['teams'] });
          else oneTarget(chat, ctx);
        }),
    ]),
  })
  .strict();

const scriptAction = z
  .object({
    script: z.union([
      z.string().min(1),
      z
        .object({
          path: z.string().min(1),
          timeout: duration.default(300_000),
          args: z.array(z.string()).default([]),
          /** Extra variables; values may use ${env.X} / ${secret.X} (resolved at load, redacted). */
          env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'environment variable names are UPPER_CASE'), z.string()).default({}),
          /**
           * What the script may do through Deckhand's REST API (DECKHAND_API_URL + DECKHAND_API_TOKEN). The token
           * acts as reaction:<name> with that actor's roles; a script that lists nothing gets no token at all.
           */
          api: z.array(z.enum(apiScopes)).default([]),
        })
        .strict(),
    ]),
  })
  .strict();

const deployAction = z
  .object({ deploy: z.object({ app: z.string().min(1), ref: z.string().optional(), environment: z.string().optional() }).strict() })
  .strict();

const releaseAction = z
  .object({ create_release: z.object({ app: z.string().min(1), version: z.string().min(1), notes: z.string().optional() }).strict() })
  .strict();

export const actionSchema = z.union([httpAction, chatAction, scriptAction, deployAction, releaseAction]);

export const reactionFileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _').optional(),
    description: z.string().optional(),
    /** Environment variables this reaction needs; while one is unset the reaction is off (not an error). */
    requires: z.array(z.string().regex(/^[A-Z_][A-Z0-9_]*$/)).default([]),
    on: z.union([eventTrigger, webhookTrigger, scheduleTrigger]),
    /** A template; the reaction runs once per distinct value (e.g. "{{ release.version }}"). */
    once_per: z.string().optional(),
    /** With once_per: the key counts within this window (fixed windows from the epoch, e.g. 1h); default forever. */
    once_per_window: duration.optional(),
    /** At most this many runs of this reaction at once. */
    concurrency: z.number().int().min(1).max(50).default(4),
    do: z.array(actionSchema).min(1, 'list at least one action under do:'),
  })
  .strict();

export type ReactionFile = z.infer<typeof reactionFileSchema>;
export type ReactionAction = z.infer<typeof actionSchema>;
export type EventTrigger = z.infer<typeof eventTrigger>;
export type WebhookTrigger = z.infer<typeof webhookTrigger>;
export type ScheduleTrigger = z.infer<typeof scheduleTrigger>;
