/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and tells where the time went: self time by area
 * (a package in node_modules, a Deckhand source file, Node's own code, GC, idle) and the hottest
 * functions. Also a command: node dist/bench/lib/profile.js FILE.cpuprofile
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of samples not idle. */
  busyShare: number;
  areas: Array<{ area: string; share: number }>;
  functions: Array<{ name: string; where: string; area: string; share: number }>;
}

function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/');
    return `npm: ${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = path.lastIndexOf('/dist/');
  return dist >= 0 ? `deckhand: ${path.slice(dist + '/dist/'.length).replace(/\.js$/, '.ts')}` : path;
}

function whereOf(url: string, line: number): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('/node_modules/');
  const short = modules >= 0 ? path.slice(modules + '/node_modules/'.length) : path.slice(path.lastIndexOf('/dist/') + 1);
  return `${short}:${line + 1}`;
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  // Self time per node: each sample's time delta goes to the node it landed in.
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i] as number, (self.get(samples[i] as number) ?? 0) + Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, { name: string; where: string; area: string; us: number }>();
  let idle = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idle += us;
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const key = `${functionName}@${url}:${lineNumber}`;
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', where: whereOf(url, lineNumber), area, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  return {
    totalMs: total / 1000,
    busyShare: (total - idle) / total,
    areas: [...byArea.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([area, us]) => ({ area, share: us / total })),
    functions: [...byFunction.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, area: f.area, share: f.us / total })),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function profileMarkdown(summary: ProfileSummary): string {
  const lines = [
    `CPU profile of Deckhand under the GitHub load: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${pct(summary.busyShare)} busy. Self time:`,
    '',
    '| area | self |',
    '|---|---:|',
    ...summary.areas.map((a) => `| ${a.area} | ${pct(a.share)} |`),
    '',
    '| function | where | self |',
    '|---|---|---:|',
    ...summary.functions.map((f) => `| \`${f.name}\` | ${f.where || f.area} | ${pct(f.share)} |`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/lib/profile.js FILE.cpuprofile\n');
    process.exit(2);
  }
  process.stdout.write(`${profileMarkdown(summariseProfile(file, 25))}\n`);
}
