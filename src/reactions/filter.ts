import { z } from 'zod';

/**
 * Declarative event filters for reactions: plain data, validated with zod, evaluated without running code.
 *
 * Explicit form:  { all: [...] } | { any: [...] } | { not: ... } | { path, equals | in | contains | matches | exists }
 * Shorthand:      { app: "web", environment: ["production", "staging"] }
 *                 = all of: app equals "web", environment in [...].
 * The keys all/any/not/path/equals/in/contains/matches/exists are reserved; to test an event field with one of those
 * names use the explicit form ({ path: "path", equals: "/" }).
 *
 * Comparison is strict: 42 never equals "42", `matches` only tests strings, `exists` is true for a present
 * key even when its value is null. A path that does not resolve fails every test but `exists: false`.
 */

type Scalar = string | number | boolean | null;
type ListItem = string | number | boolean;

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { path: string; equals: Scalar }
  | { path: string; in: ListItem[] }
  /** The value at path is a list with this item (target.roles contains "web"). */
  | { path: string; contains: ListItem }
  | { path: string; matches: string }
  | { path: string; exists: boolean };

export type ShorthandCondition = { [path: string]: Scalar | ListItem[] };

/** What users write; `conditionSchema` turns it into a `Condition` (shorthand expanded). */
export type ConditionInput =
  | { all: ConditionInput[] }
  | { any: ConditionInput[] }
  | { not: ConditionInput }
  | Extract<Condition, { path: string }>
  | ShorthandCondition;

export type EventFilter = (event: Record<string, unknown>) => boolean;

const MAX_REGEX_CHARS = 200;
const OPERATORS = ['equals', 'in', 'contains', 'matches', 'exists'] as const;
type Operator = (typeof OPERATORS)[number];

const path = z
  .string()
  .regex(/^[^.]+(\.[^.]+)*$/, 'write a dotted path such as deployment.environment or payload.items.0.name');
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'expected a string, number, boolean or null',
});
const list = z.array(
  z.union([z.string(), z.number(), z.boolean()], { error: 'list items must be strings, numbers or booleans' }),
  { error: 'expected a list of values' },
);
const regex = z
  .string()
  .max(MAX_REGEX_CHARS, `keep the regular expression under ${MAX_REGEX_CHARS} characters`)
  .superRefine((source, ctx) => {
    try {
      new RegExp(source);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(error as Error).message}` });
      return;
    }
    if (hasNestedQuantifier(source)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a repeated group that itself repeats, like (a+)+, can make matching take forever: rewrite it without nesting',
      });
    }
  });

const operatorSchemas: Record<Operator, z.ZodType> = {
  equals: scalar,
  in: list,
  contains: z.union([z.string(), z.number(), z.boolean()], { error: 'contains takes a string, number or boolean' }),
  matches: regex,
  exists: z.boolean({ error: 'exists is true or false' }),
};

const listOf = (key: 'all' | 'any') =>
  z.strictObject({
    [key]: z
      .array(z.lazy(() => conditionSchema), { error: `${key} takes a list of conditions` })
      .min(1, `${key} needs at least one condition`),
  });
const schemas = {
  all: listOf('all'),
  any: listOf('any'),
  not: z.strictObject({ not: z.lazy(() => conditionSchema) }),
  shorthand: z
    .record(path, z.union([scalar, list], { error: 'expected a value, or a list of values (any of them matches)' }))
    .refine((value) => Object.keys(value).length > 0, 'an empty condition would match every event; remove it instead'),
};

/** Validates a condition and expands the shorthand form. Errors point at the offending key. */
export const conditionSchema: z.ZodType<Condition> = z.unknown().transform((value, ctx): Condition => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'a condition is an object, e.g. { app: "web" } or { path: "app", equals: "web" }' });
    return z.NEVER;
  }
  const operators = OPERATORS.filter((op) => op in value);
  let schema: z.ZodType;
  if ('all' in value) schema = schemas.all;
  else if ('any' in value) schema = schemas.any;
  else if ('not' in value) schema = schemas.not;
  else if ('path' in value || operators.length > 0) {
    if (operators.length !== 1) {
      const message = operators.length === 0
        ? `add one of ${OPERATORS.join(', ')} next to path`
        : `use one of ${operators.join(', ')} per condition (combine several with all)`;
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    const op = operators[0] as Operator;
    const pathSchema = z.string({ error: `add the path that ${op} applies to` }).pipe(path);
    schema = z.strictObject({ path: pathSchema, [op]: operatorSchemas[op] });
  } else schema = schemas.shorthand;

  const result = schema.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) ctx.addIssue({ ...issue });
    return z.NEVER;
  }
  return schema === schemas.shorthand ? expandShorthand(result.data as ShorthandCondition) : (result.data as Condition);
});

function expandShorthand(shorthand: ShorthandCondition): Condition {
  const leaves: Condition[] = Object.entries(shorthand).map(([key, value]) =>
    Array.isArray(value) ? { path: key, in: value } : { path: key, equals: value },
  );
  return leaves.length === 1 ? (leaves[0] as Condition) : { all: leaves };
}

/** Validates (throws a ZodError) and compiles a condition; regular expressions are compiled here, once. */
export function compileFilter(condition: ConditionInput | Condition): EventFilter {
  return compile(conditionSchema.parse(condition));
}

function compile(condition: Condition): EventFilter {
  if ('all' in condition) {
    const parts = condition.all.map(compile);
    return (event) => parts.every((part) => part(event));
  }
  if ('any' in condition) {
    const parts = condition.any.map(compile);
    return (event) => parts.some((part) => part(event));
  }
  if ('not' in condition) {
    const inner = compile(condition.not);
    return (event) => !inner(event);
  }
  const segments = condition.path.split('.');
  const get = (event: Record<string, unknown>) => lookup(event, segments);
  if ('equals' in condition) {
    const expected = condition.equals;
    return (event) => get(event) === expected;
  }
  if ('in' in condition) {
    const allowed: unknown[] = condition.in;
    return (event) => {
      const value = get(event);
      return value !== MISSING && allowed.includes(value);
    };
  }
  if ('contains' in condition) {
    const item = condition.contains;
    return (event) => {
      const value = get(event);
      return Array.isArray(value) && value.includes(item);
    };
  }
  if ('matches' in condition) {
    const pattern = new RegExp(condition.matches);
    return (event) => {
      const value = get(event);
      return typeof value === 'string' && pattern.test(value);
    };
  }
  const wanted = condition.exists;
  return (event) => (get(event) !== MISSING) === wanted;
}

const MISSING = Symbol('missing');

/** Follows own properties only, so __proto__, constructor and friends never resolve. */
function lookup(root: unknown, segments: string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return MISSING;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * ReDoS guard: true when a group containing a repetition (*, +, {n,m}) is itself repeated, as in (a+)+,
 * (a*b)* or ((a+)b){2,}. A heuristic: it refuses some harmless patterns such as ([a-z]+\.)* and does not
 * catch overlapping alternatives like (a|a)*, but it stops the classic catastrophic-backtracking shapes.
 */
export function hasNestedQuantifier(source: string): boolean {
  const groups: boolean[] = []; // per open group: does it contain a repetition?
  let closedRepeatingGroup = false; // the previous token was a group that contains a repetition
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    const afterRepeatingGroup = closedRepeatingGroup;
    closedRepeatingGroup = false;
    if (char === '\\') {
      i++;
    } else if (inClass) {
      inClass = char !== ']';
    } else if (char === '[') {
      inClass = true;
    } else if (char === '(') {
      groups.push(false);
    } else if (char === ')') {
      closedRepeatingGroup = groups.pop() ?? false;
      if (closedRepeatingGroup) markRepetition(groups);
    } else if (char === '*' || char === '+' || (char === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i)))) {
      if (afterRepeatingGroup) return true;
      markRepetition(groups);
    }
  }
  return false;
}

function markRepetition(groups: boolean[]): void {
  if (groups.length > 0) groups[groups.length - 1] = true;
}
