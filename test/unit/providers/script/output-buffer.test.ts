import { OutputBuffer, tailLines } from '../../../../src/providers/script/output-buffer.js';

describe('OutputBuffer', () => {
  test('keeps everything below the limit', () => {
    const buffer = new OutputBuffer(100);
    buffer.append('one\n');
    buffer.append('two\n');
    expect(buffer.text()).toBe('one\ntwo\n');
    expect(buffer.truncated).toBe(false);
  });

  test('keeps only the tail once the limit is passed', () => {
    const buffer = new OutputBuffer(10);
    for (let i = 0; i < 100; i++) buffer.append(`line ${i}\n`);
    expect(buffer.text()).toBe('8\nline 99\n');
    expect(buffer.truncated).toBe(true);
  });

  test('is exact at the limit', () => {
    const buffer = new OutputBuffer(4);
    buffer.append('abcd');
    expect(buffer.truncated).toBe(false);
    buffer.append('e');
    expect(buffer.text()).toBe('bcde');
    expect(buffer.truncated).toBe(true);
  });

  test('never splits a multibyte character', () => {
    const buffer = new OutputBuffer(5);
    buffer.append('€€€'); // 3 bytes each
    const text = buffer.text();
    expect(text).toBe('€');
    expect(text).not.toContain('\uFFFD');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(5);
  });

  test('never splits a four-byte character', () => {
    const buffer = new OutputBuffer(6);
    buffer.append('a😀b😀');
    expect(buffer.text()).toBe('b😀');
  });

  test('stays within the limit over many appends', () => {
    const buffer = new OutputBuffer(1000);
    for (let i = 0; i < 10_000; i++) {
      buffer.append(`ü-${i}\n`);
      if (i % 997 === 0) expect(Buffer.byteLength(buffer.text())).toBeLessThanOrEqual(1000);
    }
    expect(buffer.text().endsWith('ü-9999\n')).toBe(true);
  });

  test('a zero limit keeps nothing', () => {
    const buffer = new OutputBuffer(0);
    buffer.append('x');
    expect(buffer.text()).toBe('');
    expect(buffer.truncated).toBe(true);
  });

  test('rejects a negative limit', () => {
    expect(() => new OutputBuffer(-1)).toThrow(RangeError);
  });
});

describe('tailLines', () => {
  test('returns the last n lines', () => {
    expect(tailLines('a\nb\nc\nd', 2)).toBe('c\nd');
  });

  test('does not count a trailing newline as a line', () => {
    expect(tailLines('a\nb\nc\n', 1)).toBe('c');
  });

  test('returns everything when there are fewer lines', () => {
    expect(tailLines('a\nb', 10)).toBe('a\nb');
  });

  test('returns nothing for n <= 0 or empty text', () => {
    expect(tailLines('a\nb', 0)).toBe('');
    expect(tailLines('', 3)).toBe('');
  });
});
