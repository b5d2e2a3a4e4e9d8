import escapeHtml from 'escape-html';

/** HTML that is already safe: only `html` and `raw` make one, so anything else interpolated is escaped. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  return escapeHtml(String(part));
}

/**
 * The console's only way to build markup: every interpolated value is escaped unless it is itself
 * `html` (lists of them are joined). Stored payloads, chat ids, reasons and query parameters are
 * therefore text, never markup, wherever they are shown.
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => (out += render(value) + (strings[i + 1] ?? '')));
  return new Html(out);
}

/** Markup the code wrote itself (never data). */
export const raw = (text: string): Html => new Html(text);

/**
 * A link target from stored data (another system's deployment URL) only when it is http(s):
 * escaping keeps it from breaking out of the attribute, this keeps `javascript:` out of it.
 */
export function httpLink(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol) ? url : null;
  } catch {
    return null;
  }
}

/** A query string from the non-empty values (encoded), with a leading `?` when there is one. */
export function queryString(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : '';
}
