/**
 * Text for a terminal, with every control character shown instead of obeyed.
 *
 * What the terminal adapter prints comes partly from outside: reaction chat text, webhook incident
 * titles, refs, failure reasons, script output. A terminal acts on control characters, so such text
 * could clear the screen (ESC[2J), plant a hyperlink (OSC 8), write the clipboard (OSC 52), ring the
 * bell, or hide what came before on the line (a bare CR). Showing the character as an escape (\x1b)
 * disarms the whole sequence: what follows it is plain printable text.
 *
 * Kept: \n (multi-line replies and log tails) and \t. A CR directly before a LF is a Windows line
 * end, not an overwrite, so it is dropped. Shown as \xNN: the rest of C0, DEL and C1 (0x80–0x9f,
 * which includes the one-byte CSI \u009b and OSC \u009d). Shown as \uNNNN: the bidirectional
 * embedding, override and isolate controls, which reorder how the rest of a line is displayed.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(unsafe, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
