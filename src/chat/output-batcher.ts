/**
 * A running deployment's output, batched for chat: lines are kept per deployment (the newest
 * `maxLines`; earlier ones are counted and summarised) and handed to `flush` at most every
 * `flushMs`, and at once when the deployment ends (`flushNow`). Both chat platforms post the batch
 * under the deployment's notice (Slack's thread, Teams' reply chain); only the posting differs.
 */
export interface OutputBatch<T> {
  /** Where the notice is (a channel, a conversation and its card), as given with the first line. */
  target: T;
  /** The kept lines, preceded by "… N earlier lines" when some were dropped. */
  text: string;
}

export class OutputBatcher<T> {
  private readonly buffers = new Map<number, { target: T; lines: string[]; dropped: number; timer: NodeJS.Timeout | null }>();

  constructor(
    private readonly flush: (deploymentId: number, batch: OutputBatch<T>) => void,
    private readonly options: { flushMs?: number | undefined; maxLines?: number | undefined } = {},
  ) {}

  add(deploymentId: number, target: T, line: string): void {
    let buffer = this.buffers.get(deploymentId);
    if (!buffer) {
      buffer = { target, lines: [], dropped: 0, timer: null };
      this.buffers.set(deploymentId, buffer);
    }
    buffer.lines.push(line);
    if (buffer.lines.length > (this.options.maxLines ?? 100)) {
      buffer.lines.shift();
      buffer.dropped += 1;
    }
    buffer.timer ??= setTimeout(() => this.flushNow(deploymentId), this.options.flushMs ?? 2000);
  }

  /** Hands over what is buffered for the deployment now (its end, a shutdown); nothing when empty. */
  flushNow(deploymentId: number): void {
    const buffer = this.buffers.get(deploymentId);
    if (!buffer) return;
    this.buffers.delete(deploymentId);
    if (buffer.timer) clearTimeout(buffer.timer);
    if (buffer.lines.length === 0) return;
    const head = buffer.dropped > 0 ? `… ${buffer.dropped} earlier lines\n` : '';
    this.flush(deploymentId, { target: buffer.target, text: head + buffer.lines.join('\n') });
  }

  flushAll(): void {
    for (const id of [...this.buffers.keys()]) this.flushNow(id);
  }
}
