/** A condition with `$` where its one value goes, or undefined when that filter is not set. */
export type Filter = [sql: string, value: unknown] | undefined;

/**
 * ANDs the set filters into a WHERE clause (empty when none is set), numbering the placeholders
 * $1, $2, ... in order; the statement's own parameters follow at $(params.length + 1).
 */
export function where(filters: Filter[]): { sql: string; params: unknown[] } {
  const set = filters.filter((filter) => filter !== undefined);
  if (set.length === 0) return { sql: '', params: [] };
  return {
    sql: `WHERE ${set.map(([sql], i) => sql.replace('$', `$${i + 1}`)).join(' AND ')}`,
    params: set.map(([, value]) => value),
  };
}
