/** One sample of the Prometheus text format: `name{label="value",...} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text exposition (comments skipped); throws on a line that is not a sample. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const m = line.exec(raw);
    if (!m) throw new Error(`not a sample line: ${raw}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(label)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    samples.push({ name: m[1] ?? '', labels, value });
  }
  return samples;
}

/** The value of the sample with exactly these labels (no more, no fewer); undefined when there is none. */
export function sample(samples: readonly Sample[], name: string, labels: Record<string, string>): number | undefined {
  const keys = Object.keys(labels).sort().join(',');
  return samples.find((s) => s.name === name && Object.keys(s.labels).sort().join(',') === keys && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
