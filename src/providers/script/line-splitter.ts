import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is passed on in pieces, so a script that never prints a newline cannot exhaust memory. */
export const DEFAULT_MAX_LINE_CHARS = 64 * 1024;

/**
 * Turns a byte stream into lines: keeps a partial line (and a partial UTF-8 character)
 * across chunks, strips "\r\n" endings, and flushes whatever is left at the end.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = DEFAULT_MAX_LINE_CHARS,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
    while (this.pending.length > this.maxLineChars) {
      this.emit(this.pending.slice(0, this.maxLineChars));
      this.pending = this.pending.slice(this.maxLineChars);
    }
  }

  end(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest !== '') this.emit(rest);
  }

  private emit(line: string): void {
    let text = line.endsWith('\r') ? line.slice(0, -1) : line;
    while (text.length > this.maxLineChars) {
      this.onLine(text.slice(0, this.maxLineChars));
      text = text.slice(this.maxLineChars);
    }
    this.onLine(text);
  }
}
