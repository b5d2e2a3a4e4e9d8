import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs go to stderr, so stdout stays the terminal conversation. Secrets are
 * redacted by key wherever they might appear in logged objects.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { service: 'deckhand' },
      redact: {
        paths: ['*.token', '*.secret', '*.password', '*.apiKey', 'headers.authorization', 'env.*'],
        censor: '***',
      },
    },
    // Synchronous writes to stderr: a crash never loses the log line that explains it.
    destination === process.stderr ? pino.destination({ dest: 2, sync: true }) : destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
