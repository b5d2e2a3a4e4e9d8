import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../../src/app.js';

/** GitHub's anchor for a heading: lower case, punctuation dropped (but - and _), spaces to -. */
export const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

describe('README', () => {
  const text = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
  const outsideCode = text.replace(/```[\s\S]*?```/g, '');
  const headings = [...outsideCode.matchAll(/^(##|###) (.+)$/gm)].map((m) => ({ level: m[1]?.length ?? 2, title: (m[2] ?? '').trim() })).filter((h) => h.title !== 'Contents');
  const toc = /^## Contents\n\n([\s\S]*?)\n\n/m.exec(text)?.[1] ?? '';

  test('has a table of contents that links every section and subsection, in order', () => {
    const expected = headings.map((h) => `${h.level === 3 ? '  ' : ''}- [${h.title}](#${slug(h.title)})`);
    expect(toc.split('\n')).toEqual(expected);
  });
});
