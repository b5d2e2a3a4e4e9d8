import { z } from 'zod';
import { parseDuration } from './duration.js';

/** Names users type in chat: lower-case words with - _ . */
const name = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lower-case letters, digits and . _ - (e.g. "api", "web-front")');

const duration = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration: write e.g. 30s, 15m or 1h` });
      return z.NEVER;
    }
    return ms;
  });

/**
 * read:<deliveries|jobs|audit|deployments> and operate:<deliveries|jobs|messages> are the operator's
 * verbs (the REST API and the console): read lists, operate replays and retries. admin:* covers all.
 */
export const permissionVerbs = ['deploy', 'force', 'lock', 'release', 'approve', 'read', 'operate', 'admin'] as const;
export type PermissionVerb = (typeof permissionVerbs)[number];

const permission = z
  .string()
  .regex(
    new RegExp(`^(${permissionVerbs.join('|')}|\\*):([a-z0-9._-]+|\\*)$`),
    `write <verb>:<scope> with verb one of ${permissionVerbs.join(', ')} and scope an environment, app or * (e.g. deploy:staging, lock:*, release:api)`,
  );

const environmentSchema = z
  .object({
    aliases: z.array(name).default([]),
    protected: z.boolean().default(false),
    /** Who may approve deployments here: user ids or role:<name> (besides anyone with approve:<environment>). */
    approvers: z.array(z.string().min(1)).default([]),
    /** How long an approval request stays open before the deployment is cancelled. */
    approval_timeout: duration.default(1_800_000),
    /** May the person who asked for the deployment approve it too? */
    self_approval: z.boolean().default(false),
  })
  .strict();

const octopusSchema = z
  .object({
    /** The Octopus project: its name, slug or id. */
    project: z.string().min(1),
    /** Space name or id; default OCTOPUS_SPACE. */
    space: z.string().min(1).optional(),
    /** Channel name; default the project's default channel. */
    channel: z.string().min(1).optional(),
    /** Tenant name or id, for tenanted projects. */
    tenant: z.string().min(1).optional(),
    /** Deckhand environment → Octopus environment name, where they differ (matched ignoring case otherwise). */
    environments: z.record(name, z.string().min(1)).default({}),
    /** How often the server task is polled. */
    poll: duration.default(5_000),
  })
  .strict();

const providerSchema = z
  .object({
    /** Path of the deploy script, relative to the config file. */
    script: z.string().min(1).optional(),
    /** Deploy through Octopus Deploy instead of a script. */
    octopus: octopusSchema.optional(),
    /** Script: stopped after this. Octopus: Deckhand stops following the task after this. Default 10m / 1h. */
    timeout: duration.optional(),
    /** Pre-deploy checks: scripts that must exit 0; `deploy!` skips a failed check. */
    checks: z.array(z.string().min(1)).default([]),
    check_timeout: duration.default(60_000),
    /** Extra variables for the scripts; values may use ${env.X} / ${secret.X} (redacted from output). */
    env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'environment variable names are UPPER_CASE'), z.string()).default({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.script === undefined) === (p.octopus === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give the provider either script: <path> or octopus: { project: <name> }, not both or neither' });
    }
  });

/**
 * A Teams conversation id as the Bot Connector spells it: a team channel or group chat
 * "19:…@thread.tacv2" (or @thread.skype / @thread.v2, a channel's thread "…;messageid=…"), a 1:1
 * chat "a:…". Anything else (a Slack "#name", a channel's display name) cannot be sent to.
 */
export const teamsConversationId = z
  .string()
  .regex(/^(19:[^\s@]+@thread\.[a-z0-9]+(;messageid=\d+)?|a:[^\s]+|8:orgid:[0-9a-f-]+)$/i, 'write a Teams conversation id, e.g. "19:abc…@thread.tacv2" (a channel or group chat) or "a:…" (a 1:1 chat); the id is in the channel\'s link ("Get link to channel")');

const appSchema = z
  .object({
    description: z.string().optional(),
    /** owner/name on GitHub; used by the GitHub provider. */
    repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'write owner/name, e.g. acme/api').optional(),
    provider: providerSchema,
    environments: z.array(name).min(1, 'list at least one environment the app can be deployed to'),
    default: z
      // ref: default main, or latest (the newest release) for Octopus apps.
      .object({ ref: z.string().min(1).optional(), environment: name.optional() })
      .strict()
      .default({}),
    /**
     * Where deployment notices for this app go: a Slack channel ("#deploys" or an id; the plain
     * string form, kept from before Teams), and/or a Teams conversation (a channel's or chat's id).
     */
    notify: z
      .union([
        z.string().min(1),
        z
          .object({
            slack: z.string().min(1).optional(),
            teams: teamsConversationId.optional(),
          })
          .strict()
          .refine((n) => n.slack !== undefined || n.teams !== undefined, 'name a Slack channel (slack:) and/or a Teams conversation (teams:)'),
      ])
      .optional(),
    /** When set, the app can only be deployed from these rooms (chat requests). */
    rooms: z.array(z.string().min(1)).optional(),
    /** Where each environment of the app can be seen (GitHub's environment_url, links in notices). */
    urls: z.record(name, z.url({ protocol: /^https?$/, error: 'write an http(s) URL' })).default({}),
    /** A merged pull request into `branch` creates a GitHub deployment to `environment`. Needs `repository`. */
    auto_deploy: z
      .array(
        z
          .object({
            branch: z.string().min(1),
            environment: name,
            /** Commit statuses GitHub must see green first; [] deploys regardless. */
            required_contexts: z.array(z.string()).default([]),
          })
          .strict(),
      )
      .default([]),
    /** How the app treats GitHub deployments that Deckhand did not create itself. Needs `repository`. */
    github: z
      .object({
        /**
         * false (default): they are mirrored, like other tools' deployment statuses: shown, never run.
         * true: Deckhand runs them as github:<login>, whose roles, rooms, locks and approvals apply.
         */
        run_deployments: z.boolean().default(false),
      })
      .strict()
      .default({ run_deployments: false }),
  })
  .strict();

const roleSchema = z
  .object({
    /** User ids (e.g. Slack U024BE7LH, or shell:<user> for the terminal); * matches any characters. */
    members: z.array(z.string().min(1)).default([]),
    may: z.array(permission).default([]),
  })
  .strict();

export const configFileSchema = z
  .object({
    bot: z
      .object({
        name: name.default('deckhand'),
        prefix: z.string().min(1).max(3).default('!'),
      })
      .strict()
      .default({ name: 'deckhand', prefix: '!' }),
    locks: z
      .object({
        /** When true, the holder of a lock may still deploy to the locked target (off: a lock stops everyone). */
        holder_may_deploy: z.boolean().default(false),
      })
      .strict()
      .default({ holder_may_deploy: false }),
    environments: z.record(name, environmentSchema).refine((e) => Object.keys(e).length > 0, 'define at least one environment'),
    apps: z.record(name, appSchema).refine((a) => Object.keys(a).length > 0, 'define at least one app'),
    roles: z.record(name, roleSchema).default({}),
    /** Splunk On-Call (VictorOps): where incidents are posted, and who is who there. */
    oncall: z
      .object({
        /** The chat room that gets one message per incident (with Acknowledge / Resolve buttons on Slack). */
        channel: z.string().min(1).optional(),
        /** The Teams conversation that gets the same incident cards (Acknowledge / Resolve as Action.Execute). */
        teams: teamsConversationId.optional(),
        /** Chat user id → Splunk On-Call username: buttons and commands act as that user. */
        users: z.record(z.string().min(1), z.string().regex(/^[\w.@+-]+$/, 'a Splunk On-Call username')).default({}),
      })
      .strict()
      .default({ users: {} }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const envNames = Object.keys(config.environments);
    const seen = new Map<string, string>();
    for (const [env, def] of Object.entries(config.environments)) {
      for (const [i, alias] of def.aliases.entries()) {
        const owner = seen.get(alias) ?? (config.environments[alias] ? alias : undefined);
        if (owner !== undefined && owner !== env) {
          ctx.addIssue({ code: 'custom', path: ['environments', env, 'aliases', i], message: `alias "${alias}" is already used by ${owner}` });
        }
        seen.set(alias, env);
      }
      for (const [i, approver] of def.approvers.entries()) {
        const role = approver.startsWith('role:') ? approver.slice(5) : null;
        if (role !== null && !config.roles[role]) {
          ctx.addIssue({ code: 'custom', path: ['environments', env, 'approvers', i], message: `role "${role}" is not defined under roles:` });
        }
      }
    }
    for (const [app, def] of Object.entries(config.apps)) {
      for (const [i, env] of def.environments.entries()) {
        if (!config.environments[env]) {
          ctx.addIssue({
            code: 'custom',
            path: ['apps', app, 'environments', i],
            message: `"${env}" is not a defined environment; define it under environments: or use one of ${envNames.join(', ')}`,
          });
        }
      }
      for (const [i, rule] of def.auto_deploy.entries()) {
        if (!def.repository) ctx.addIssue({ code: 'custom', path: ['apps', app, 'auto_deploy'], message: 'auto_deploy needs the app\'s repository (owner/name)' });
        if (!def.environments.includes(rule.environment)) {
          ctx.addIssue({ code: 'custom', path: ['apps', app, 'auto_deploy', i, 'environment'], message: `"${rule.environment}" is not one of this app's environments (${def.environments.join(', ')})` });
        }
      }
      for (const env of Object.keys(def.provider.octopus?.environments ?? {})) {
        if (!def.environments.includes(env)) {
          ctx.addIssue({ code: 'custom', path: ['apps', app, 'provider', 'octopus', 'environments', env], message: `"${env}" is not one of this app's environments (${def.environments.join(', ')})` });
        }
      }
      for (const env of Object.keys(def.urls)) {
        if (!def.environments.includes(env)) {
          ctx.addIssue({ code: 'custom', path: ['apps', app, 'urls', env], message: `"${env}" is not one of this app's environments (${def.environments.join(', ')})` });
        }
      }
      if (def.github.run_deployments && !def.repository) {
        ctx.addIssue({ code: 'custom', path: ['apps', app, 'github', 'run_deployments'], message: "run_deployments needs the app's repository (owner/name)" });
      }
      const defaultEnv = def.default.environment;
      if (defaultEnv !== undefined && !def.environments.includes(defaultEnv)) {
        ctx.addIssue({
          code: 'custom',
          path: ['apps', app, 'default', 'environment'],
          message: `the default environment "${defaultEnv}" is not one of this app's environments (${def.environments.join(', ')})`,
        });
      }
    }
  });

export type ConfigFile = z.infer<typeof configFileSchema>;
