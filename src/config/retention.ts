import { pruneKinds, type PruneKind } from '../store/types.js';

/** How long each kind of stored history is kept, in milliseconds; null keeps it forever. */
export type Retention = Readonly<Record<PruneKind, number | null>>;

const dayMs = 86_400_000;

/** The defaults of DECKHAND_RETENTION; a spec overrides only the kinds it names. */
export const defaultRetention: Retention = Object.freeze({
  deliveries: 14 * dayMs,
  jobs: 14 * dayMs,
  seen: 30 * dayMs,
  events: 365 * dayMs,
  audit: 365 * dayMs,
  logs: 90 * dayMs,
  // Longer than any job's retries and than finished jobs are kept: a reaction step re-run within
  // it finds its message instead of posting it again.
  posts: 30 * dayMs,
});

const unitMs: Record<string, number> = { h: 3_600_000, d: dayMs, w: 7 * dayMs };

/**
 * Parses a DECKHAND_RETENTION spec such as "deliveries=14d,jobs=7d,audit=off": comma-separated
 * kind=age pairs, the age a whole number of hours (h), days (d) or weeks (w), or `off` / `0` to keep
 * that kind forever. Kinds left out keep their default. Returns the problem (naming the bad part)
 * when the spec is invalid.
 */
export function parseRetention(spec: string): { retention: Retention } | { error: string } {
  const result: Record<PruneKind, number | null> = { ...defaultRetention };
  const named = new Set<string>();
  for (const part of spec.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const match = /^([a-z]+)\s*=\s*(\S+)$/i.exec(part);
    if (!match) return { error: `"${part}" is not kind=age (e.g. deliveries=14d)` };
    const kind = (match[1] as string).toLowerCase();
    const value = (match[2] as string).toLowerCase();
    if (!(pruneKinds as readonly string[]).includes(kind)) return { error: `"${part}": unknown kind "${kind}" (one of ${pruneKinds.join(', ')})` };
    if (named.has(kind)) return { error: `"${part}": ${kind} is given twice` };
    named.add(kind);
    if (value === 'off' || /^0+[hdw]?$/.test(value)) {
      result[kind as PruneKind] = null;
      continue;
    }
    const age = /^(\d{1,6})([hdw])$/.exec(value);
    if (!age) return { error: `"${part}": the age is a whole number of hours, days or weeks (12h, 14d, 2w), or off` };
    result[kind as PruneKind] = Number(age[1]) * (unitMs[age[2] as string] as number);
  }
  return { retention: Object.freeze(result) };
}

/** The spec of a retention, as in DECKHAND_RETENTION (for logs). */
export function formatRetention(retention: Retention): string {
  return pruneKinds
    .map((kind) => {
      const ms = retention[kind];
      if (ms === null) return `${kind}=off`;
      return ms % dayMs === 0 ? `${kind}=${ms / dayMs}d` : `${kind}=${Math.round(ms / 3_600_000)}h`;
    })
    .join(',');
}
