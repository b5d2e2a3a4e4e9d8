import { createRedactor } from '../../../../src/providers/script/redact.js';

describe('createRedactor', () => {
  test('replaces every occurrence of every secret', () => {
    const redact = createRedactor(['hunter22', 'xoxb-123']);
    expect(redact('pw=hunter22 token=xoxb-123 again hunter22')).toBe('pw=*** token=*** again ***');
  });

  test('leaves text without secrets untouched', () => {
    expect(createRedactor(['s3cr3t'])('nothing to see')).toBe('nothing to see');
    expect(createRedactor([])('nothing to see')).toBe('nothing to see');
  });

  test('ignores empty and very short values, which would mask ordinary text', () => {
    const redact = createRedactor(['', 'a', 'abc']);
    expect(redact('a abc abcd')).toBe('a abc abcd');
  });

  test('treats regex characters literally', () => {
    const redact = createRedactor(['a.b*c+(d)', '$1$2']);
    expect(redact('x a.b*c+(d) aXbbc $1$2')).toBe('x *** aXbbc ***');
  });

  test('masks a secret that contains another one whole', () => {
    const redact = createRedactor(['abcd', 'abcdefgh']);
    expect(redact('[abcdefgh] [abcd]')).toBe('[***] [***]');
  });

  test('leaves no fragment when two secrets overlap', () => {
    const redact = createRedactor(['abcdef', 'defghi']);
    expect(redact('-abcdefghi-')).toBe('-***-');
  });

  test('covers overlapping occurrences of the same secret', () => {
    expect(createRedactor(['aaaa'])('aaaaaab')).toBe('***b');
  });

  test('handles non-ASCII secrets', () => {
    expect(createRedactor(['pässwörd'])('pw: pässwörd.')).toBe('pw: ***.');
  });
});
