/**
 * A small phrase grammar that compiles to one anchored regular expression:
 *   word        a literal word (matched case-insensitively)
 *   <name>      one word, captured as `name`
 *   <name...>   the rest of the text (one or more words), captured as `name`
 *   [ ... ]     optional; written right after the previous item (`<app>[/<ref>]`) it attaches
 *               without a space
 * A one-word slot never swallows a literal word that follows it in the phrase, so
 * "lock <env> [<app>] [because <reason...>]" reads "lock prod because x" as env=prod, reason=x.
 */
type Item =
  | { kind: 'literal'; text: string; attached: boolean }
  | { kind: 'slot'; name: string; rest: boolean; attached: boolean }
  | { kind: 'optional'; items: Item[]; attached: boolean };

export interface CompiledPhrase {
  pattern: string;
  regex: RegExp;
  /** The literal words the phrase starts with ("create release"). */
  keywords: string[];
  slots: string[];
  usage: string;
}

export function compilePhrase(pattern: string): CompiledPhrase {
  const items = parseItems(pattern);
  const first = items[0];
  if (!first || first.kind !== 'literal') throw new Error(`phrase "${pattern}" must start with a word`);
  const keywords: string[] = [];
  for (const item of items) {
    if (item.kind !== 'literal' || (item.attached && keywords.length > 0)) break;
    keywords.push(item.text.toLowerCase());
  }
  const literals = collectLiterals(items);
  const slots: string[] = [];
  const body = compileItems(items, literals, slots, true);
  return { pattern, regex: new RegExp(`^${body}$`, 'is'), keywords, slots, usage: pattern };
}

function parseItems(pattern: string): Item[] {
  let pos = 0;
  const parseSeq = (closing: string | null): Item[] => {
    const out: Item[] = [];
    for (;;) {
      const startPos = pos;
      while (pattern[pos] === ' ') pos++;
      const attached = pos === startPos && out.length > 0;
      if (pos >= pattern.length) {
        if (closing) throw new Error(`phrase "${pattern}": missing "${closing}"`);
        return out;
      }
      const ch = pattern[pos];
      if (ch === ']') {
        if (closing !== ']') throw new Error(`phrase "${pattern}": unexpected "]"`);
        pos++;
        return out;
      }
      if (ch === '[') {
        pos++;
        out.push({ kind: 'optional', items: parseSeq(']'), attached: attached || (out.length > 0 && pattern[startPos] !== ' ') });
        continue;
      }
      if (ch === '<') {
        const end = pattern.indexOf('>', pos);
        if (end < 0) throw new Error(`phrase "${pattern}": missing ">"`);
        const raw = pattern.slice(pos + 1, end);
        const rest = raw.endsWith('...');
        const name = rest ? raw.slice(0, -3) : raw;
        if (!/^[a-zA-Z][a-zA-Z0-9]*$/.test(name)) throw new Error(`phrase "${pattern}": bad slot name "${raw}"`);
        out.push({ kind: 'slot', name, rest, attached });
        pos = end + 1;
        continue;
      }
      const match = /^[^\s<>[\]]+/.exec(pattern.slice(pos));
      if (!match) throw new Error(`phrase "${pattern}": unexpected "${ch}"`);
      out.push({ kind: 'literal', text: match[0], attached });
      pos += match[0].length;
    }
  };
  return parseSeq(null);
}

function collectLiterals(items: Item[]): Set<string> {
  const out = new Set<string>();
  for (const item of items) {
    if (item.kind === 'literal' && !item.attached && /^[a-z]+$/i.test(item.text)) out.add(item.text.toLowerCase());
    if (item.kind === 'optional') for (const word of collectLiterals(item.items)) out.add(word);
  }
  return out;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function firstLiteralChar(item: Item | undefined): string | null {
  if (!item) return null;
  if (item.kind === 'literal') return item.text[0] ?? null;
  if (item.kind === 'optional') return firstLiteralChar(item.items[0]);
  return null;
}

function compileItems(items: Item[], literals: Set<string>, slots: string[], isFirst: boolean): string {
  let out = '';
  items.forEach((item, index) => {
    const separator = (isFirst && index === 0) || item.attached ? '' : '\\s+';
    const next = items[index + 1];
    if (item.kind === 'literal') {
      out += separator + escape(item.text);
    } else if (item.kind === 'slot') {
      if (slots.includes(item.name)) throw new Error(`slot <${item.name}> appears twice`);
      slots.push(item.name);
      const stop = next?.attached ? firstLiteralChar(next) : null;
      const guard = literals.size > 0 ? `(?!(?:${[...literals].map(escape).join('|')})(?:\\s|$))` : '';
      const word = stop ? `[^\\s${escape(stop)}]+` : '\\S+';
      out += separator + `(?<${item.name}>${item.rest ? '\\S.*' : guard + word})`;
    } else {
      out += `(?:${separator}${compileItems(item.items, literals, slots, true)})?`;
    }
  });
  return out;
}
