/** The one table `npm run bench` prints (markdown), and the lines about the machine under it. */
import os from 'node:os';
import type { LoadResult } from './load.js';

export interface Row {
  what: string;
  deckhand: string;
  deckhandLatency: string;
  deckhandErrors: string;
  anchor: string;
  anchorValue: string;
  anchorLatency: string;
  anchorErrors: string;
  ratio: string;
}

const int = (n: number) => Math.round(n).toLocaleString('en');
export const ms = (n: number) => (n < 1 ? n.toFixed(2) : n < 10 ? n.toFixed(1) : int(n));
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
export const ratio = (a: number, b: number) => (b > 0 ? (a / b < 0.1 ? (a / b).toFixed(3) : (a / b).toFixed(2)) : '—');

export function rps(r: LoadResult): string {
  return `${int(r.rps)} req/s`;
}

export function latency(r: LoadResult): string {
  return `${ms(r.p50)} / ${ms(r.p99)} ms`;
}

/** "0", or what went wrong: statuses that were not 2xx, connection errors, timeouts. */
export function failures(r: LoadResult): string {
  const parts = Object.entries(r.non2xx).map(([status, n]) => `${int(n)} × ${status}`);
  const connectionErrors = r.errors - r.timeouts;
  if (connectionErrors > 0) parts.push(`${int(connectionErrors)} conn. errors`);
  if (r.timeouts > 0) parts.push(`${int(r.timeouts)} timeouts`);
  return parts.length ? parts.join(', ') : '0';
}

export function table(rows: Row[]): string {
  const head = '| what | Deckhand | p50 / p99 | errors | anchor | anchor | p50 / p99 | errors | Deckhand ÷ anchor |';
  const rule = '|---|---:|---:|---:|---|---:|---:|---:|---:|';
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const body = rows.map((r) => `| ${[r.what, r.deckhand, r.deckhandLatency, r.deckhandErrors, r.anchor, r.anchorValue, r.anchorLatency, r.anchorErrors, r.ratio].map(cell).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

export function machine(loadBefore: number[], loadAfter: number[]): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    `Machine: ${cpus.length} cores (${model}), ${mib(os.totalmem()).replace(' MiB', '')} MiB RAM, ${os.type()} ${os.release()}; Node ${process.version}.`,
    `Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. Load average (1/5/15 min) before: ${load(loadBefore)}, after: ${load(loadAfter)}.`,
  ].join('\n');
}
