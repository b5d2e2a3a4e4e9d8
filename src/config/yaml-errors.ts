import { LineCounter, parseDocument, isNode, type Document } from 'yaml';

export interface ParsedYaml {
  doc: Document;
  lineCounter: LineCounter;
  value: unknown;
}

export interface YamlProblem {
  line: number;
  col: number;
  message: string;
}

/** Parses YAML keeping positions; syntax errors come back with line and column. */
export function parseYamlWithPositions(text: string): { ok: true; parsed: ParsedYaml } | { ok: false; problems: YamlProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { line: pos.line, col: pos.col, message: e.message.split('\n')[0] ?? e.message };
      }),
    };
  }
  try {
    return { ok: true, parsed: { doc, lineCounter, value: doc.toJS({ maxAliasCount: 100 }) } };
  } catch (err) {
    // The yaml library refuses alias expansion bombs here ("Excessive alias count ...").
    return { ok: false, problems: [{ line: 1, col: 1, message: (err as Error).message }] };
  }
}

/** The line and column of the node at `path`, or of its closest existing ancestor. */
export function positionOf(parsed: ParsedYaml, path: readonly PropertyKey[]): { line: number; col: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = parsed.doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) {
      return parsed.lineCounter.linePos(node.range[0]);
    }
  }
  return { line: 1, col: 1 };
}

/** apps.hello.environments[1] */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}
