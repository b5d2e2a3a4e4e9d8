import { jsonNestsDeeperThan, maxJsonDepth, parseBody } from '../../../src/http/webhook-body.js';

const json = (text: string) => Buffer.from(text);

describe('jsonNestsDeeperThan', () => {
  test('counts open arrays and objects, not their number', () => {
    expect(jsonNestsDeeperThan('1', 0)).toBe(false);
    expect(jsonNestsDeeperThan('{}', 0)).toBe(true);
    expect(jsonNestsDeeperThan('{}', 1)).toBe(false);
    expect(jsonNestsDeeperThan('[[],[],{"a":[]}]', 3)).toBe(false);
    expect(jsonNestsDeeperThan('[[],[],{"a":[{}]}]', 3)).toBe(true);
  });

  test('brackets inside strings do not count, and escapes do not end a string early', () => {
    expect(jsonNestsDeeperThan('["[[[[{{{{"]', 1)).toBe(false);
    // "\"[[" is one string: the escaped quote does not close it.
    expect(jsonNestsDeeperThan('["\\"[[[["]', 1)).toBe(false);
    // "\\" ends at its second quote: the [ after it is real.
    expect(jsonNestsDeeperThan('["\\\\",[]]', 1)).toBe(true);
    expect(jsonNestsDeeperThan('["\\\\\\"[[[["]', 1)).toBe(false);
  });

  test('a million levels are measured without recursion', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(jsonNestsDeeperThan(deep, maxJsonDepth)).toBe(true);
    expect(jsonNestsDeeperThan(deep, 1_000_000)).toBe(false);
  });
});

describe('parseBody', () => {
  const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

  test(`accepts ${maxJsonDepth} levels and refuses ${maxJsonDepth + 1} with a 400 that says why`, () => {
    expect(parseBody('application/json', json(nested(maxJsonDepth)))).toMatchObject({ ok: true });
    expect(parseBody('application/json', json(nested(maxJsonDepth + 1)))).toEqual({ ok: false, status: 400, error: `the JSON body nests arrays and objects more than ${maxJsonDepth} levels deep: flatten it` });
  });

  test('checks the JSON inside a form payload= field the same way', () => {
    const form = json(`payload=${encodeURIComponent(nested(maxJsonDepth + 1))}`);
    expect(parseBody('application/x-www-form-urlencoded', form, { formPayloadField: 'payload' })).toEqual({
      ok: false,
      status: 400,
      error: `the JSON in the "payload" field nests arrays and objects more than ${maxJsonDepth} levels deep: flatten it`,
    });
  });

  test('malformed JSON keeps its own message', () => {
    expect(parseBody('application/json', json('{"a": '))).toMatchObject({ ok: false, status: 400, error: expect.stringMatching(/^malformed JSON: /) });
  });
});
