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

describe('jsonNestsDeeperThan agrees with a character-by-character scan', () => {
  /** The plain definition: every character, a flag for "inside a string", a backslash skips one. */
  const reference = (text: string, limit: number): boolean => {
    let depth = 0;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') {
        if (++depth > limit) return true;
      } else if (c === '}' || c === ']') depth--;
    }
    return false;
  };

  test('on random texts of brackets, quotes and backslashes, at every limit', () => {
    // A fixed linear congruential generator: the same texts on every run.
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const alphabet = ['[', ']', '{', '}', '"', '\\', 'a', ','];
    for (let n = 0; n < 3000; n++) {
      const text = Array.from({ length: next() % 24 }, () => alphabet[next() % alphabet.length]).join('');
      for (const limit of [0, 1, 2, 3]) expect([text, limit, jsonNestsDeeperThan(text, limit)]).toEqual([text, limit, reference(text, limit)]);
    }
  });

  test('a real webhook body', () => {
    const body = JSON.stringify({ a: [{ b: 'x"[[[\\', c: { d: ['\\\\', '{{{'] } }], e: '\\"]]]' });
    for (const limit of [2, 3, 4, 5]) expect(jsonNestsDeeperThan(body, limit)).toBe(reference(body, limit));
  });
});
