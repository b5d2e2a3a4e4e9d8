export type Redactor = (text: string) => string;

export const REDACTED = '***';

/** Shorter values would mask ordinary words and numbers all over the output. */
const MIN_SECRET_LENGTH = 4;

/**
 * Builds a function that replaces every occurrence of every secret with ***.
 *
 * Rather than replacing one secret after another (which can leave a fragment of a second
 * secret that overlaps the first), it marks every character covered by any occurrence of
 * any secret and replaces each covered run once.
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const usable = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH);
  if (usable.length === 0) return (text) => text;

  return (text) => {
    const ranges = findRanges(text, usable);
    if (ranges.length === 0) return text;
    let result = '';
    let cursor = 0;
    for (const [start, end] of ranges) {
      result += text.slice(cursor, start) + REDACTED;
      cursor = end;
    }
    return result + text.slice(cursor);
  };
}

/** Sorted, merged [start, end) ranges covered by occurrences of the secrets. */
function findRanges(text: string, secrets: readonly string[]): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (const secret of secrets) {
    // Step by one character so overlapping occurrences ("aaaa" in "aaaaaa") are all covered.
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
      found.push([at, at + secret.length]);
    }
  }
  found.sort((a, b) => a[0] - b[0]);

  const merged: Array<[number, number]> = [];
  for (const range of found) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  return merged;
}
