import type { LogLevel, Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../src/core/logger.js';

/** Bolt's logger interface on top of Deckhand's pino logger, so all logs share one format. */
export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  // LogLevel.INFO; a type import only: the value would load Bolt's index (see bolt-parts.ts).
  let level = 'info' as LogLevel;
  const text = (args: unknown[]) => args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(' ');
  return {
    // Bolt logs at debug several times per request: the text is built only when someone reads it.
    debug: (...args) => void (child.isLevelEnabled('debug') && child.debug(text(args))),
    info: (...args) => child.info(text(args)),
    warn: (...args) => child.warn(text(args)),
    error: (...args) => child.error(text(args)),
    setLevel: (next) => void (level = next),
    getLevel: () => level,
    setName: () => undefined,
  };
}
