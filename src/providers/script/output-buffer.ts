/**
 * Keeps the last `maxBytes` bytes (UTF-8) of what is appended, never splitting a character.
 * Memory stays bounded: once more than twice the limit is held, the head is dropped.
 */
export class OutputBuffer {
  private parts: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(readonly maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }

  append(chunk: string): void {
    if (chunk === '') return;
    const bytes = Buffer.from(chunk, 'utf8');
    this.parts.push(bytes);
    this.size += bytes.length;
    if (this.size > 2 * this.maxBytes) this.trim();
  }

  /** True once anything appended has been dropped to respect the limit. */
  get truncated(): boolean {
    return this.dropped || this.size > this.maxBytes;
  }

  text(): string {
    this.trim();
    return Buffer.concat(this.parts, this.size).toString('utf8');
  }

  private trim(): void {
    if (this.size <= this.maxBytes) return;
    const all = Buffer.concat(this.parts, this.size);
    let start = all.length - this.maxBytes;
    // Skip UTF-8 continuation bytes (10xxxxxx) so the kept tail begins on a character boundary.
    while (start < all.length && ((all[start] ?? 0) & 0xc0) === 0x80) start++;
    // Copy, so the dropped head is not kept alive by a view into the big buffer.
    const tail = Buffer.from(all.subarray(start));
    this.parts = [tail];
    this.size = tail.length;
    this.dropped = true;
  }
}

/** The last `count` lines of `text`; a trailing newline does not count as an empty last line. */
export function tailLines(text: string, count: number): string {
  if (count <= 0 || text === '') return '';
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines = body.split('\n');
  return lines.slice(-count).join('\n');
}
