import { Writable } from 'node:stream';
import { DeckhandError, ErrorCode } from '../../../src/core/errors.js';
import { createLogger } from '../../../src/core/logger.js';
import { redactLogLine } from '../../../src/core/redact-log-line.js';

describe('redactLogLine', () => {
  test.each([
    ['trigger key in a request URL', '{"req":{"url":"/triggers/pkg?apiKey=SECRET-KEY-123&app=hello"}}', '{"req":{"url":"/triggers/pkg?apiKey=***&app=hello"}}'],
    ['log page token', '{"req":{"url":"/deployments/4/log?token=SECRET-TOKEN"}}', '{"req":{"url":"/deployments/4/log?token=***"}}'],
    ['api_key spelling, second parameter', '{"msg":"GET https://x.test/a?b=1&api_key=SECRETVALUE"}', '{"msg":"GET https://x.test/a?b=1&api_key=***"}'],
    ['logToken nested in error details', '{"err":{"details":{"deployment":{"id":4,"logToken":"SECRET-LOG-TOKEN"}}}}', '{"err":{"details":{"deployment":{"id":4,"logToken":"***"}}}}'],
    ['credential headers', '{"headers":{"x-api-key":"SECRET","authorization":"Bearer SECRET"}}', '{"headers":{"x-api-key":"***","authorization":"***"}}'],
    ['escaped quotes inside a secret value', '{"webhookSecret":"SEC\\"RET","next":1}', '{"webhookSecret":"***","next":1}'],
    ['URL userinfo', '{"msg":"postgres://deckhand:SECRETPW@db:5432/x"}', '{"msg":"postgres://***@db:5432/x"}'],
    ['Deckhand and Slack tokens anywhere', '{"msg":"token dh_abcdefghijklmnopqrstuvwx and xoxb-1234-5678-abcdefgh"}', '{"msg":"token dh_*** and xoxb-***"}'],
  ])('%s', (_what, line, expected) => {
    expect(redactLogLine(line)).toBe(expected);
  });

  test('leaves ordinary lines alone', () => {
    const line = '{"level":30,"msg":"deployment #4 of hello/main to staging succeeded","tokens":3,"req":{"url":"/triggers/pkg?app=hello"}}';
    expect(redactLogLine(line)).toBe(line);
  });
});

describe('createLogger', () => {
  const capture = (level: string) => {
    const lines: string[] = [];
    const logger = createLogger(level, new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    return { logger, text: () => lines.join('') };
  };

  test('an error whose details hold a deployment never logs its log token, at any level', () => {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error']) {
      const { logger, text } = capture(level);
      const err = new DeckhandError(ErrorCode.Conflict, 'deployment is running', { deployment: { id: 4, logToken: 'LOGTOKEN-abcdef0123' } });
      logger.error({ err, details: { deployment: { logToken: 'LOGTOKEN-abcdef0123' } } }, 'it failed');
      logger.fatal({ url: '/deployments/4/log?token=LOGTOKEN-abcdef0123' }, 'GET /deployments/4/log?token=LOGTOKEN-abcdef0123');
      expect(text()).toContain('it failed');
      expect(text()).not.toContain('LOGTOKEN-abcdef0123');
    }
  });
});
