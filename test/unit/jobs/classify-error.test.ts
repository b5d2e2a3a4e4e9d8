import { DeckhandError, ErrorCode } from '../../../src/core/errors.js';
import { classifyError, classifyStatus } from '../../../src/jobs/classify-error.js';
import { httpFailure, type HttpResult } from '../../../src/reactions/http-request.js';
import { createTemplateEngine, TemplateError } from '../../../src/reactions/template.js';

const error = (code: ErrorCode, details: Record<string, unknown> = {}) => new DeckhandError(code, 'x', details);

describe('classifyError: is a failed job worth another attempt?', () => {
  test.each([ErrorCode.Usage, ErrorCode.Forbidden, ErrorCode.UnknownApp, ErrorCode.UnknownEnvironment, ErrorCode.CheckFailed, ErrorCode.EnvLocked, ErrorCode.ReleaseExists, ErrorCode.NotFound, ErrorCode.Template])(
    '%s is permanent: the same job is refused the same way again',
    (code) => expect(classifyError(error(code))).toBe('permanent'),
  );

  test.each([ErrorCode.ScriptFailed, ErrorCode.ScriptTimeout, ErrorCode.Internal])('%s is transient', (code) => {
    expect(classifyError(error(code))).toBe('transient');
  });

  test('anything that is not a DeckhandError is transient (a network error, a bug, a string)', () => {
    expect(classifyError(new Error('socket hang up'))).toBe('transient');
    expect(classifyError(Object.assign(new Error('Not Found'), { status: 404 }))).toBe('transient');
    expect(classifyError('boom')).toBe('transient');
    expect(classifyError(undefined)).toBe('transient');
  });

  test('E_UPSTREAM depends on what the other system answered', () => {
    for (const status of [301, 400, 401, 403, 404, 409, 410, 422]) expect([status, classifyError(error(ErrorCode.Upstream, { status }))]).toEqual([status, 'permanent']);
    for (const status of [0, 202, 408, 429, 500, 502, 503, 504]) expect([status, classifyError(error(ErrorCode.Upstream, { status }))]).toEqual([status, 'transient']);
    // No status: nothing says the request itself was wrong.
    expect(classifyError(error(ErrorCode.Upstream))).toBe('transient');
    expect(classifyStatus('404')).toBe('transient');
  });

  test("a reaction's HTTP action that was not answered with 2xx: by its last status", () => {
    const result = (status: number | null): HttpResult => ({ ok: false, status, body: '', attempts: [{ attempt: 1, status, error: status ? `HTTP ${status}` : 'ECONNREFUSED', durationMs: 1 }] });
    expect(classifyError(httpFailure('POST', result(404)))).toBe('permanent');
    expect(classifyError(httpFailure('POST', result(503)))).toBe('transient');
    expect(classifyError(httpFailure('POST', result(null)))).toBe('transient');
    expect(httpFailure('POST', result(404)).message).toBe('HTTP POST failed after 1 attempts: HTTP 404');
  });

  test('a template whose output is over the size limit is permanent', () => {
    const engine = createTemplateEngine({ maxOutputChars: 10 });
    let thrown: unknown;
    try {
      engine.render('{{ text }}', { text: 'x'.repeat(11) });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TemplateError);
    expect(thrown).toMatchObject({ code: ErrorCode.Template, message: expect.stringMatching(/longer than 10 characters/) });
    expect(classifyError(thrown)).toBe('permanent');
  });
});
