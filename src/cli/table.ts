/** Plain-text tables for the CLI: a header row, columns padded to their widest cell, long cells cut. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>, maxWidth = 60): string {
  const cells = rows.map((row) => row.map((cell) => cut(cell === null || cell === undefined || cell === '' ? '-' : String(cell).replace(/\s+/g, ' '), maxWidth)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: readonly string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
