import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';

/** The closest candidate, when it is close enough to be a typo of `word`. */
export function didYouMean(word: string, candidates: readonly string[]): string | null {
  if (candidates.length === 0 || !word) return null;
  const best = closest(word, candidates as string[]);
  return distance(word.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; valueType?: z.ZodType; element?: z.ZodType; options?: z.ZodType[]; left?: z.ZodType; right?: z.ZodType; getter?: () => z.ZodType };
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas that can stand at `path` (several under a union); wrappers are looked through. */
function schemasAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  const def = defOf(schema);
  const unwrapped = def.innerType ?? (def.type === 'pipe' ? def.in : undefined) ?? (def.type === 'lazy' ? def.getter?.() : undefined);
  if (unwrapped) return schemasAt(unwrapped, path);
  if (def.type === 'union') return (def.options ?? []).flatMap((o) => schemasAt(o, path));
  if (def.type === 'intersection') return [def.left, def.right].flatMap((s) => (s ? schemasAt(s, path) : []));
  if (path.length === 0) return [schema];
  const [head, ...rest] = path;
  if (def.type === 'object') {
    const child = def.shape?.[String(head)];
    return child ? schemasAt(child, rest) : [];
  }
  if (def.type === 'record' && def.valueType) return schemasAt(def.valueType, rest);
  if (def.type === 'array' && def.element) return schemasAt(def.element, rest);
  return [];
}

/** The keys an object at `path` accepts, per the schema. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(schemasAt(schema, path).flatMap((s) => (defOf(s).type === 'object' ? Object.keys(defOf(s).shape ?? {}) : [])))];
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

const yamlWordsForBooleans = /^(yes|no|y|n|on|off|true|false)$/i;

type Issue = z.core.$ZodIssue;

/** How far off a union branch is: a key it does not know (10) or a required key missing (5) near its root weigh most. */
function weight(issue: Issue, depth: number): number {
  const d = depth + issue.path.length;
  if (issue.code === 'invalid_union') return Math.min(...issue.errors.map((branch) => branch.reduce((sum, i) => sum + weight(i, d), 0)));
  if (issue.code === 'unrecognized_keys' && d === 0) return 10;
  if (issue.code === 'invalid_type' && d <= 1) return 5;
  return 1;
}

/**
 * zod reports a value that fits no member of a union as one "Invalid input". The member it was
 * meant to be is the one it is least far from (`chat:` with a misspelt `chanel`, not `http:`):
 * its issues, with full paths, say what to fix.
 */
export function flattenUnions(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
    const scored = issue.errors.map((branch) => ({ branch, score: branch.reduce((sum, i) => sum + weight(i, 0), 0) }));
    const best = scored.reduce((a, b) => (b.score < a.score ? b : a)).branch;
    return flattenUnions(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue));
  });
}

/** Each issue, unions resolved to the member meant, with a message that says what to fix. */
export function explainIssues(issues: readonly Issue[], input: unknown, schema: z.ZodType): Array<{ path: PropertyKey[]; message: string }> {
  return flattenUnions(issues).map((issue) => ({ path: issue.path, message: explainIssue(issue, input, schema) }));
}

/**
 * A zod issue as a message that says what to fix: "did you mean" for a misspelt key or value,
 * and a hint where YAML read something as text that was meant otherwise.
 */
export function explainIssue(issue: z.core.$ZodIssue, input: unknown, schema: z.ZodType): string {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(schema, issue.path);
    return issue.keys
      .map((key) => {
        const near = didYouMean(key, known);
        return `unknown key "${key}"${near ? `: did you mean "${near}"?` : known.length ? ` (known keys here: ${known.join(', ')})` : ''}`;
      })
      .join('; ');
  }
  const value = valueAt(input, issue.path);
  if (issue.code === 'invalid_value' && typeof value === 'string') {
    const near = didYouMean(value, issue.values.map(String));
    return near ? `"${value}" is not one of ${issue.values.map(String).join(', ')}: did you mean "${near}"?` : `"${value}" is not one of ${issue.values.map(String).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && value === undefined && issue.path.length > 0) {
    return `missing ${String(issue.path.at(-1))} (${issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`})`;
  }
  if (issue.code === 'invalid_type' && typeof value === 'string') {
    if (issue.expected === 'boolean') {
      const hint = yamlWordsForBooleans.test(value) ? ` (YAML 1.2 reads ${value} as text)` : '';
      return `expected true or false, got "${value}"${hint}: write true or false, without quotes`;
    }
    if (issue.expected === 'number' && value.trim() !== '' && !Number.isNaN(Number(value))) return `expected a number, got the text "${value}": write it without quotes`;
  }
  if (issue.code === 'invalid_key') {
    const nested = (issue as { issues?: ReadonlyArray<{ message: string }> }).issues?.[0]?.message;
    if (nested) return `bad name: ${nested}`;
  }
  return issue.message;
}
