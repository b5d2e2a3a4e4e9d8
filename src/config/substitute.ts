/**
 * `${env.X}` and `${secret.X}` are resolved once, when a file is loaded. Secret values are
 * collected so they can be redacted wherever output leaves Deckhand. Per-event `{{ }}` templates
 * are a different mechanism (reactions) and never see secrets.
 */
export interface SubstitutionProblem {
  path: PropertyKey[];
  message: string;
}

export interface SubstitutionResult {
  value: unknown;
  secrets: string[];
  problems: SubstitutionProblem[];
}

const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype']);
// ${env.X}, ${secret.X}, and ${env.X:-default} (the default used when X is unset or empty).
const reference = /\$\{(env|secret)\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function substituteReferences(value: unknown, env: NodeJS.ProcessEnv): SubstitutionResult {
  const secrets: string[] = [];
  const problems: SubstitutionProblem[] = [];

  const visit = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(reference, (_match, kind: string, variable: string, fallback: string | undefined) => {
        const resolved = env[variable] || fallback;
        if (resolved === undefined || resolved === '') {
          problems.push({ path, message: `\${${kind}.${variable}} is used but ${variable} is not set in the environment` });
          return '';
        }
        if (kind === 'secret') secrets.push(resolved);
        return resolved;
      });
    }
    if (Array.isArray(node)) return node.map((item, i) => visit(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      // defineProperty, not assignment: a "__proto__" key stays a key (and is then refused by the schema).
      for (const [key, child] of Object.entries(node)) {
        if (forbiddenKeys.has(key)) problems.push({ path: [...path, key], message: `"${key}" is not allowed as a key` });
        Object.defineProperty(out, key, { value: visit(child, [...path, key]), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return node;
  };

  return { value: visit(value, []), secrets, problems };
}
