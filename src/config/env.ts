import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z.string().min(1).default('sqlite:./data/deckhand.db'),
  DECKHAND_CONFIG: z.string().min(1).optional(),
  DECKHAND_DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(logLevels).optional(),
  DECKHAND_SHELL_USER: z
    .string()
    .regex(/^[\w.@-]+$/, 'letters, digits, and . _ @ - only')
    .optional(),
});

export type Env = Readonly<z.infer<typeof envSchema>>;

/** The environment variables Deckhand reads, validated once at start-up. */
export function loadEnv(env: NodeJS.ProcessEnv = process.env): Env {
  // An empty variable (FOO= in a .env file) means "not set", as in most twelve-factor tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(env[name])}: ${issue.message}`;
    });
    throw new DeckhandError(ErrorCode.EnvInvalid, `Invalid environment variables:\n  ${lines.join('\n  ')}\nSee .env.example for the accepted values.`);
  }
  return Object.freeze(parsed.data);
}
