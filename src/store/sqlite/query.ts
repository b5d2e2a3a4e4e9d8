/** Small helpers for building the list queries. */

/** Default and maximum page sizes of the list methods. */
export const listLimits = {
  deployments: { default: 10, max: 100 },
  releases: { default: 10, max: 100 },
  events: { default: 100, max: 1000 },
  audit: { default: 50, max: 500 },
} as const;

/** The default when `limit` is not given; otherwise `limit` clamped to 1..max. */
export function clampLimit(limit: number | undefined, bounds: { default: number; max: number }): number {
  if (limit === undefined || !Number.isFinite(limit)) return bounds.default;
  return Math.min(bounds.max, Math.max(1, Math.trunc(limit)));
}

/** A condition with its bound values, or undefined when that filter is not set. */
export type Filter = [sql: string, ...params: unknown[]] | undefined;

/** ANDs the set filters into a WHERE clause (empty when none is set). */
export function whereClause(filters: Filter[]): { sql: string; params: unknown[] } {
  const set = filters.filter((filter) => filter !== undefined);
  if (set.length === 0) return { sql: '', params: [] };
  return {
    sql: `WHERE ${set.map(([sql]) => sql).join(' AND ')}`,
    params: set.flatMap(([, ...params]) => params),
  };
}
