import { LineSplitter } from '../../../../src/providers/script/line-splitter.js';

function split(chunks: Array<Buffer | string>, maxLineChars?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), maxLineChars);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  test('splits chunks into lines', () => {
    expect(split(['a\nb\n', 'c\n'])).toEqual(['a', 'b', 'c']);
  });

  test('joins a line that arrives in pieces', () => {
    expect(split(['hel', 'lo wo', 'rld\nnext\n'])).toEqual(['hello world', 'next']);
  });

  test('flushes a last line without a newline at the end', () => {
    expect(split(['done\npartial'])).toEqual(['done', 'partial']);
  });

  test('keeps empty lines but adds none at the end', () => {
    expect(split(['a\n\nb\n'])).toEqual(['a', '', 'b']);
  });

  test('strips CRLF line endings', () => {
    expect(split(['a\r\nb\r', '\n'])).toEqual(['a', 'b']);
  });

  test('decodes a multibyte character split across chunks', () => {
    const bytes = Buffer.from('größe €\n');
    expect(split([bytes.subarray(0, 3), bytes.subarray(3, 9), bytes.subarray(9)])).toEqual(['größe €']);
  });

  test('passes an endless line on in bounded pieces', () => {
    expect(split(['abcdefgh', 'ij\n'], 4)).toEqual(['abcd', 'efgh', 'ij']);
  });
});
