import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { parseDuration } from './duration.js';
import { defaultRetention, parseRetention } from './retention.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A duration variable ("30s", "5m", "1h"), in milliseconds, at least `minMs`. */
function duration(fallback: string, minMs: number) {
  return z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      // "0" (or 0s) is a duration too, where a minimum of 0 allows it: no grace at all.
      const ms = /^\s*0+(\.0+)?\s*(ms|s|m|h)?\s*$/.test(v) ? 0 : parseDuration(v);
      if (ms === null || ms < minMs) {
        ctx.addIssue({ code: 'custom', message: `a duration such as 30s or 5m${minMs > 0 ? `, at least ${minMs / 1000}s` : ''}` });
        return z.NEVER;
      }
      return ms;
    });
}

const envObject = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface to listen on; default 127.0.0.1 on the terminal, 0.0.0.0 on Slack (see main.ts). */
  HOST: z.string().min(1).optional(),
  DATABASE_URL: z.string().min(1).default('sqlite:./data/deckhand.db'),
  DECKHAND_CONFIG: z.string().min(1).optional(),
  DECKHAND_DATA_DIR: z.string().min(1).default('./data'),
  /** How long a job taken by a worker that then died stays locked (renewed every third of it while it runs). */
  DECKHAND_JOB_LEASE: duration('30s', 1000),
  /**
   * How long a Deckhand process counts as alive after its last heartbeat (one is sent every third
   * of it). Others take over a dead one's deployments and jobs after this.
   */
  DECKHAND_HEARTBEAT: duration('30s', 3000),
  /** On SIGTERM, how long running deployments and jobs may take to finish before they are stopped. */
  DECKHAND_SHUTDOWN_GRACE: duration('5m', 0),
  /**
   * PostgreSQL: how long one statement may run (the server cancels it; the store answers
   * "unavailable", HTTP 503). 0: no limit. A statement_timeout in DATABASE_URL takes precedence.
   * Read by the store (src/store/postgres/connection.ts); validated here at start.
   */
  DECKHAND_PG_STATEMENT_TIMEOUT: duration('30s', 0),
  /**
   * How long stored history is kept: "deliveries=14d,jobs=14d,seen=30d,events=365d,audit=365d,logs=90d,posts=30d"
   * (the defaults; name only the kinds to change; `off` or 0 keeps a kind forever).
   */
  DECKHAND_RETENTION: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return defaultRetention;
      const parsed = parseRetention(v);
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error });
        return z.NEVER;
      }
      return parsed.retention;
    }),
  /** A .env-style file of secrets (API keys, tokens) for ${secret.X}; kept out of the YAML and the repo. */
  DECKHAND_SECRETS_FILE: z.string().min(1).optional(),
  /** Folder of reaction YAML files; default ./reactions, else the bundled catalog. */
  DECKHAND_REACTIONS: z.string().min(1).optional(),
  /** How people reach this Deckhand (for log links); default http://localhost:PORT. */
  DECKHAND_PUBLIC_URL: z.url().optional(),
  /** When set, GET /metrics needs `Authorization: Bearer <token>` (Prometheus: authorization.credentials). */
  DECKHAND_METRICS_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  /** Signs the web console's session and CSRF cookies; unset: a random secret per process (sessions end on restart, not shared by replicas). */
  DECKHAND_CONSOLE_SECRET: z.string().min(32, 'use at least 32 random characters, e.g. openssl rand -hex 32').optional(),
  LOG_LEVEL: z.enum(logLevels).optional(),
  /** xoxb-...: when set, Deckhand runs on Slack instead of the terminal. */
  SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'a bot token starts with xoxb-').optional(),
  /** xapp-...: Socket Mode (no public URL needed). Without it, HTTP mode at POST /slack/events. */
  SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'an app-level token starts with xapp-').optional(),
  SLACK_SIGNING_SECRET: z.string().min(8).optional(),
  /** Web API base URL, e.g. for a proxy or a test server; default https://slack.com/api/. */
  SLACK_API_URL: z.url().optional(),
  SLACK_SLASH_COMMAND: z.string().regex(/^\/[a-z0-9_-]+$/, 'a slash command looks like /deckhand').default('/deckhand'),
  /** The Slack app's OAuth client (Basic Information): both set, the web console offers "Sign in with Slack". */
  SLACK_CLIENT_ID: z.string().min(1).optional(),
  SLACK_CLIENT_SECRET: z.string().min(1).optional(),
  /** Where Slack's OpenID Connect endpoints are (a proxy or a test server); default https://slack.com. */
  SLACK_OIDC_URL: z.url().default('https://slack.com'),
  /** A token with repo_deployment scope (classic) or Deployments: write (fine-grained). */
  GITHUB_TOKEN: z.string().min(1).optional(),
  /** A GitHub App instead of a token: its id, private key and the installation on your organisation. */
  GITHUB_APP_ID: z.coerce.number().int().positive().optional(),
  /** The App's private key (PEM; \n escapes are accepted), or GITHUB_APP_PRIVATE_KEY_FILE. */
  GITHUB_APP_PRIVATE_KEY: z.string().min(1).optional(),
  GITHUB_APP_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  GITHUB_APP_INSTALLATION_ID: z.coerce.number().int().positive().optional(),
  /** GitHub Enterprise Server: https://<host>/api/v3. */
  GITHUB_API_URL: z.url().default('https://api.github.com'),
  /** The secret set on the GitHub webhook; enables POST /webhooks/github. */
  GITHUB_WEBHOOK_SECRET: z.string().min(8).optional(),
  /** Octopus Deploy: the server URL (https://octopus.example.com) and an API key (API-...). */
  OCTOPUS_URL: z.url().optional(),
  OCTOPUS_API_KEY: z.string().min(1).optional(),
  /** The space Octopus apps use unless they name one: a name or an id. */
  OCTOPUS_SPACE: z.string().min(1).default('Spaces-1'),
  /** The shared secret Octopus subscriptions send in a header; enables POST /webhooks/octopus. */
  OCTOPUS_WEBHOOK_SECRET: z.string().min(16, 'use at least 16 characters').optional(),
  /** The header that carries it (the subscription's "header key"). */
  OCTOPUS_WEBHOOK_HEADER: z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name such as X-Deckhand-Secret').default('X-Deckhand-Secret'),
  /** Splunk On-Call public API (Integrations → API): acknowledge / resolve buttons, "who is on call". */
  SPLUNK_ONCALL_API_ID: z.string().min(1).optional(),
  SPLUNK_ONCALL_API_KEY: z.string().min(1).optional(),
  SPLUNK_ONCALL_API_URL: z.url().default('https://api.victorops.com'),
  /** The escalation webhook's URL exactly as entered in Splunk On-Call (it is signed), and its auth key; enables POST /webhooks/victorops. */
  SPLUNK_ONCALL_WEBHOOK_URL: z.url().optional(),
  SPLUNK_ONCALL_WEBHOOK_KEY: z.string().min(1).optional(),
  /**
   * Microsoft Teams (Azure Bot): the bot's app (client) id, the Entra tenant and one credential —
   * the client secret, a certificate or a user-assigned managed identity. Set, Teams activities
   * arrive at POST /teams/messages.
   */
  TEAMS_APP_ID: z.string().min(1).optional(),
  TEAMS_APP_PASSWORD: z.string().min(1).optional(),
  TEAMS_TENANT_ID: z.string().min(1).optional(),
  /** A PEM file with the certificate's private key (unencrypted) and the certificate: a client assertion instead of the secret. */
  TEAMS_CERTIFICATE_PATH: z.string().min(1).optional(),
  /** true: the bot's app id is a user-assigned managed identity (Azure Bot type UserAssignedMSI) of where Deckhand runs. */
  TEAMS_MANAGED_IDENTITY: z
    .enum(['true', 'false', '1', '0'], 'true or false')
    .optional()
    .transform((v) => v === 'true' || v === '1'),
  /** Managed identity off App Service: Azure's Instance Metadata Service token URL (tests, proxies). */
  TEAMS_IMDS_URL: z.url().default('http://169.254.169.254/metadata/identity/oauth2/token'),
  /** Set by App Service, Container Apps and Functions for their managed identity endpoint; read with TEAMS_MANAGED_IDENTITY. */
  IDENTITY_ENDPOINT: z.url().optional(),
  IDENTITY_HEADER: z.string().min(1).optional(),
  /** Where the Bot Framework publishes the keys that sign Teams activities (sovereign clouds, tests). */
  TEAMS_OPENID_METADATA_URL: z.url().default('https://login.botframework.com/v1/.well-known/openidconfiguration'),
  /** The token authority for the bot's client-credentials token (sovereign clouds, tests); the tenant and /oauth2/v2.0/token are appended. */
  TEAMS_AUTHORITY_URL: z.url().default('https://login.microsoftonline.com'),
  DECKHAND_SHELL_USER: z
    .string()
    .regex(/^[\w.@-]+$/, 'letters, digits, and . _ @ - only')
    .optional(),
});

const envSchema = envObject.superRefine((env, ctx) => {
  if (env.SLACK_BOT_TOKEN && !env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['SLACK_SIGNING_SECRET'],
      message: 'HTTP mode needs the signing secret (Basic Information in the Slack app settings); or set SLACK_APP_TOKEN for Socket Mode',
    });
  }
  const appParts = [env.GITHUB_APP_ID, env.GITHUB_APP_PRIVATE_KEY ?? env.GITHUB_APP_PRIVATE_KEY_FILE, env.GITHUB_APP_INSTALLATION_ID];
  if (appParts.some((p) => p !== undefined) && appParts.some((p) => p === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['GITHUB_APP_ID'],
      message: 'a GitHub App needs all three: GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_FILE) and GITHUB_APP_INSTALLATION_ID',
    });
  }
  if (env.GITHUB_APP_ID !== undefined && env.GITHUB_TOKEN) {
    ctx.addIssue({ code: 'custom', path: ['GITHUB_TOKEN'], message: 'set GITHUB_TOKEN or a GitHub App (GITHUB_APP_ID, ...), not both' });
  }
  if (env.GITHUB_APP_PRIVATE_KEY && env.GITHUB_APP_PRIVATE_KEY_FILE) {
    ctx.addIssue({ code: 'custom', path: ['GITHUB_APP_PRIVATE_KEY_FILE'], message: 'set GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE, not both' });
  }
  if (Boolean(env.OCTOPUS_URL) !== Boolean(env.OCTOPUS_API_KEY)) {
    ctx.addIssue({ code: 'custom', path: [env.OCTOPUS_URL ? 'OCTOPUS_API_KEY' : 'OCTOPUS_URL'], message: 'Octopus needs both OCTOPUS_URL and OCTOPUS_API_KEY' });
  }
  if (Boolean(env.SPLUNK_ONCALL_API_ID) !== Boolean(env.SPLUNK_ONCALL_API_KEY)) {
    ctx.addIssue({ code: 'custom', path: [env.SPLUNK_ONCALL_API_ID ? 'SPLUNK_ONCALL_API_KEY' : 'SPLUNK_ONCALL_API_ID'], message: 'the Splunk On-Call API needs both SPLUNK_ONCALL_API_ID and SPLUNK_ONCALL_API_KEY' });
  }
  if (Boolean(env.SPLUNK_ONCALL_WEBHOOK_URL) !== Boolean(env.SPLUNK_ONCALL_WEBHOOK_KEY)) {
    ctx.addIssue({ code: 'custom', path: [env.SPLUNK_ONCALL_WEBHOOK_URL ? 'SPLUNK_ONCALL_WEBHOOK_KEY' : 'SPLUNK_ONCALL_WEBHOOK_URL'], message: 'the escalation webhook needs both SPLUNK_ONCALL_WEBHOOK_URL and SPLUNK_ONCALL_WEBHOOK_KEY' });
  }
  if (!env.SLACK_BOT_TOKEN && env.SLACK_APP_TOKEN) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_BOT_TOKEN'], message: 'SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not: Socket Mode needs both' });
  }
  // Teams: the app id, the tenant and exactly one credential, or none of them.
  const teamsCredentials = [env.TEAMS_APP_PASSWORD && 'TEAMS_APP_PASSWORD', env.TEAMS_CERTIFICATE_PATH && 'TEAMS_CERTIFICATE_PATH', env.TEAMS_MANAGED_IDENTITY && 'TEAMS_MANAGED_IDENTITY'].filter((k): k is string => Boolean(k));
  if (teamsCredentials.length > 1) {
    ctx.addIssue({ code: 'custom', path: [teamsCredentials[1] ?? 'TEAMS_APP_PASSWORD'], message: `set one Teams credential, not ${teamsCredentials.join(' and ')}` });
  } else if (env.TEAMS_APP_ID || env.TEAMS_TENANT_ID || teamsCredentials.length > 0) {
    const missing = [!env.TEAMS_APP_ID && 'TEAMS_APP_ID', !env.TEAMS_TENANT_ID && 'TEAMS_TENANT_ID', teamsCredentials.length === 0 && 'TEAMS_APP_PASSWORD'].filter((k): k is string => Boolean(k));
    if (missing.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: [missing[0] ?? 'TEAMS_APP_ID'],
        message: 'Microsoft Teams needs all three: TEAMS_APP_ID, TEAMS_TENANT_ID and one credential (TEAMS_APP_PASSWORD, the client secret; TEAMS_CERTIFICATE_PATH; or TEAMS_MANAGED_IDENTITY=true)',
      });
    }
  }
  if (env.TEAMS_MANAGED_IDENTITY && Boolean(env.IDENTITY_ENDPOINT) !== Boolean(env.IDENTITY_HEADER)) {
    ctx.addIssue({ code: 'custom', path: [env.IDENTITY_ENDPOINT ? 'IDENTITY_HEADER' : 'IDENTITY_ENDPOINT'], message: 'the App Service managed identity endpoint needs both IDENTITY_ENDPOINT and IDENTITY_HEADER (the platform sets them)' });
  }
  if (Boolean(env.SLACK_CLIENT_ID) !== Boolean(env.SLACK_CLIENT_SECRET)) {
    ctx.addIssue({ code: 'custom', path: [env.SLACK_CLIENT_ID ? 'SLACK_CLIENT_SECRET' : 'SLACK_CLIENT_ID'], message: '"Sign in with Slack" needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET' });
  }
});

export type Env = Readonly<z.infer<typeof envSchema>>;

/** Every variable Deckhand reads (a test checks that .env.example and the README document each). */
export const envVariableNames: readonly string[] = Object.keys(envObject.shape);

/** The environment variables Deckhand reads, validated once at start-up. */
export function loadEnv(env: NodeJS.ProcessEnv = process.env): Env {
  // An empty variable (FOO= in a .env file) means "not set", as in most twelve-factor tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      // Never echo a token or secret back, even a malformed one.
      const shown = /TOKEN|SECRET|PASSWORD|PRIVATE_KEY$|_KEY$|^IDENTITY_HEADER$/.test(name) ? (env[name] ? '(set)' : '(not set)') : JSON.stringify(env[name]);
      return `${name}=${shown}: ${issue.message}`;
    });
    throw new DeckhandError(ErrorCode.EnvInvalid, `Invalid environment variables:\n  ${lines.join('\n  ')}\nSee .env.example for the accepted values.`);
  }
  return Object.freeze(parsed.data);
}
