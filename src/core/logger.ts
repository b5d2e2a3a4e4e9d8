import { pino, type Logger } from 'pino';
import { redactLogLine } from './redact-log-line.js';

export type { Logger };

/**
 * Structured logs go to stderr, so stdout stays the terminal conversation. Secrets are redacted
 * by key in logged objects, and every written line passes redactLogLine (query-string
 * credentials, log tokens, credential properties at any depth) whatever its level.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { service: 'deckhand' },
      redact: {
        paths: ['*.token', '*.secret', '*.password', '*.apiKey', '*.logToken', 'headers.authorization', 'env.*'],
        censor: '***',
      },
      hooks: { streamWrite: redactLogLine },
    },
    // Synchronous writes to stderr: a crash never loses the log line that explains it.
    destination === process.stderr ? pino.destination({ dest: 2, sync: true }) : destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
