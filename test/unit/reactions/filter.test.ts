import { ZodError } from 'zod';
import { compileFilter, conditionSchema, hasNestedQuantifier, type ConditionInput } from '../../../src/reactions/filter.js';

const event = {
  event: 'deployment.succeeded',
  app: 'web',
  deployment: { id: 42, environment: 'production', ref: 'release/1.2', forced: false, note: null },
  payload: { items: [{ name: 'alpha' }, { name: 'beta' }], count: 0 },
};

const matches = (condition: ConditionInput, on: Record<string, unknown> = event) => compileFilter(condition)(on);

/** Issues of an invalid condition as "path: message" lines. */
function problems(condition: unknown): string[] {
  const result = conditionSchema.safeParse(condition);
  if (result.success) throw new Error(`expected ${JSON.stringify(condition)} to be invalid`);
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('compileFilter', () => {
  describe('operators', () => {
    it('equals compares strictly', () => {
      expect(matches({ path: 'app', equals: 'web' })).toBe(true);
      expect(matches({ path: 'app', equals: 'api' })).toBe(false);
      expect(matches({ path: 'deployment.forced', equals: false })).toBe(true);
      expect(matches({ path: 'payload.count', equals: 0 })).toBe(true);
    });

    it('equals null matches a null value but not a missing one', () => {
      expect(matches({ path: 'deployment.note', equals: null })).toBe(true);
      expect(matches({ path: 'deployment.nope', equals: null })).toBe(false);
    });

    it('does not convert types: 42 is not "42", and "0" is not 0 or false', () => {
      expect(matches({ path: 'deployment.id', equals: 42 })).toBe(true);
      expect(matches({ path: 'deployment.id', equals: '42' })).toBe(false);
      expect(matches({ path: 'deployment.id', in: ['42'] })).toBe(false);
      expect(matches({ path: 'payload.count', equals: false })).toBe(false);
      expect(matches({ path: 'deployment.id', matches: '^42$' })).toBe(false); // matches only tests strings
    });

    it('in matches any listed value', () => {
      expect(matches({ path: 'deployment.environment', in: ['staging', 'production'] })).toBe(true);
      expect(matches({ path: 'deployment.environment', in: ['staging'] })).toBe(false);
      expect(matches({ path: 'deployment.id', in: [1, 42] })).toBe(true);
    });

    it('contains tests that a list has the item, strictly', () => {
      const target = { target: { roles: ['web', 'worker'], name: 'web-07' } };
      expect(matches({ path: 'target.roles', contains: 'web' }, target)).toBe(true);
      expect(matches({ path: 'target.roles', contains: 'db' }, target)).toBe(false);
      expect(matches({ path: 'target.name', contains: 'web' }, target)).toBe(false); // a string is not a list
      expect(matches({ path: 'target.nope', contains: 'web' }, target)).toBe(false);
      expect(matches({ path: 'payload.items', contains: 1 })).toBe(false);
    });

    it('matches tests a regular expression', () => {
      expect(matches({ path: 'deployment.ref', matches: '^release/\\d+\\.\\d+$' })).toBe(true);
      expect(matches({ path: 'deployment.ref', matches: '^main$' })).toBe(false);
      expect(matches({ path: 'deployment', matches: '.*' })).toBe(false);
    });

    it('exists tells present keys (even null) from missing ones', () => {
      expect(matches({ path: 'deployment.note', exists: true })).toBe(true);
      expect(matches({ path: 'deployment.nope', exists: true })).toBe(false);
      expect(matches({ path: 'deployment.nope', exists: false })).toBe(true);
      expect(matches({ path: 'app', exists: false })).toBe(false);
    });
  });

  describe('paths', () => {
    it('walks objects and array indexes', () => {
      expect(matches({ path: 'payload.items.1.name', equals: 'beta' })).toBe(true);
      expect(matches({ path: 'payload.items.2.name', exists: false })).toBe(true);
    });

    it('treats a missing path as no match, for every operator but exists: false', () => {
      for (const condition of [
        { path: 'nope.deeper', equals: 'x' },
        { path: 'app.length', equals: 3 }, // no walking into strings
        { path: 'deployment.id.value', in: [1] },
        { path: 'missing', matches: '' },
        { path: 'missing', exists: true },
      ] satisfies ConditionInput[]) {
        expect(matches(condition)).toBe(false);
      }
    });

    it('never reaches the prototype', () => {
      const paths = ['__proto__', 'constructor', 'toString', 'deployment.constructor', 'deployment.__proto__', 'payload.items.map'];
      for (const path of paths) {
        expect(matches({ path, exists: true })).toBe(false);
        expect(matches({ path: `${path}.name`, equals: 'Object' })).toBe(false);
      }
      const inherited = Object.create({ app: 'web' }) as Record<string, unknown>;
      expect(matches({ app: 'web' }, inherited)).toBe(false);
    });

    it('reads a key literally named __proto__ when the event owns it', () => {
      const parsed = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
      expect(matches({ path: '__proto__.x', equals: 1 }, parsed)).toBe(true);
    });
  });

  describe('shorthand', () => {
    it('means all of: scalar equals, list in', () => {
      expect(matches({ app: 'web', 'deployment.environment': ['production', 'staging'] })).toBe(true);
      expect(matches({ app: 'web', 'deployment.environment': ['staging'] })).toBe(false);
      expect(matches({ app: 'api', 'deployment.environment': ['production'] })).toBe(false);
      expect(matches({ 'deployment.id': 42 })).toBe(true);
    });

    it('is expanded by the schema', () => {
      expect(conditionSchema.parse({ app: 'web', env: ['a', 'b'] })).toEqual({
        all: [
          { path: 'app', equals: 'web' },
          { path: 'env', in: ['a', 'b'] },
        ],
      });
      expect(conditionSchema.parse({ app: 'web' })).toEqual({ path: 'app', equals: 'web' });
    });
  });

  describe('nesting', () => {
    it('combines all, any and not, with shorthand inside', () => {
      const condition: ConditionInput = {
        all: [
          { event: 'deployment.succeeded' },
          { any: [{ app: 'api' }, { path: 'deployment.ref', matches: '^release/' }] },
          { not: { 'deployment.forced': true } },
        ],
      };
      expect(matches(condition)).toBe(true);
      expect(matches(condition, { ...event, deployment: { ...event.deployment, forced: true } })).toBe(false);
      expect(matches(condition, { ...event, deployment: { ...event.deployment, ref: 'main' } })).toBe(false);
    });

    it('not of a missing path is true', () => {
      expect(matches({ not: { path: 'nope', equals: 'x' } })).toBe(true);
    });

    it('keeps the normalized form valid input', () => {
      const normalized = conditionSchema.parse({ any: [{ app: 'web' }, { not: { a: [1, 2] } }] });
      expect(conditionSchema.parse(normalized)).toEqual(normalized);
    });
  });

  describe('validation', () => {
    it('throws a ZodError for an invalid condition', () => {
      expect(() => compileFilter({ path: 'app', matches: '(' })).toThrow(ZodError);
    });

    it('reports regular expressions that do not compile', () => {
      expect(problems({ path: 'app', matches: '([a-z' })).toEqual([
        expect.stringMatching(/^matches: invalid regular expression: /),
      ]);
    });

    it('refuses long regular expressions', () => {
      expect(problems({ path: 'app', matches: 'a'.repeat(201) })).toEqual([
        'matches: keep the regular expression under 200 characters',
      ]);
    });

    it('refuses nested quantifiers (ReDoS guard), with the path of the offending condition', () => {
      expect(problems({ any: [{ app: 'web' }, { path: 'app', matches: '^(a+)+$' }] })).toEqual([
        expect.stringMatching(/^any\.1\.matches: a repeated group that itself repeats/),
      ]);
    });

    it('explains malformed conditions', () => {
      expect(problems('app')).toEqual([expect.stringMatching(/^: a condition is an object/)]);
      expect(problems({})).toEqual([expect.stringMatching(/empty condition would match every event/)]);
      expect(problems({ path: 'app' })).toEqual([': add one of equals, in, contains, matches, exists next to path']);
      expect(problems({ path: 'app', equals: 'web', in: ['web'] })).toEqual([
        ': use one of equals, in per condition (combine several with all)',
      ]);
      expect(problems({ equals: 'web' })).toEqual(['path: add the path that equals applies to']);
      expect(problems({ all: [] })).toEqual(['all: all needs at least one condition']);
      expect(problems({ any: { app: 'web' } })).toEqual(['any: any takes a list of conditions']);
      expect(problems({ all: [{ app: 'web' }], extra: 1 })).toEqual([expect.stringMatching(/Unrecognized key.*extra/)]);
      expect(problems({ path: 'a..b', equals: 1 })).toEqual([expect.stringMatching(/^path: write a dotted path/)]);
      expect(problems({ path: 'app', exists: 'yes' })).toEqual(['exists: exists is true or false']);
      expect(problems({ path: 'app', in: 'web' })).toEqual(['in: expected a list of values']);
      expect(problems({ path: 'app', in: [{}] })).toEqual(['in.0: list items must be strings, numbers or booleans']);
      const badKey = conditionSchema.safeParse({ 'a..b': 1 }).error?.issues[0];
      expect(badKey).toMatchObject({
        code: 'invalid_key',
        path: ['a..b'],
        issues: [expect.objectContaining({ message: expect.stringMatching(/write a dotted path/) })],
      });
      expect(problems({ app: { name: 'web' } })).toEqual([expect.stringMatching(/^app: expected a value, or a list of values/)]);
      expect(problems({ not: { all: [{ path: 'x', equals: [] }] } })).toEqual([
        expect.stringMatching(/^not\.all\.0\.equals: expected a string/),
      ]);
    });
  });
});

describe('hasNestedQuantifier', () => {
  const nested = ['(a+)+', '(a*)*', '(?:\\w+\\s?)*$', '((ab)+c)+', '(a{2,})+', '(a+){10}', '^(x+x+)+y'];
  it.each(nested)('flags %s', (source) => {
    expect(hasNestedQuantifier(source)).toBe(true);
  });

  const safe = ['a+b+', '(ab)+', '(a+)?', '[(a+)]+', '\\(a+\\)+', '^release/\\d+\\.\\d+$', '(foo|bar)+', '(a+)b+'];
  it.each(safe)('accepts %s', (source) => {
    expect(hasNestedQuantifier(source)).toBe(false);
  });
});
