import Database from 'better-sqlite3';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { pruneKinds } from '../../../src/store/types.js';

/**
 * The statements on the hot paths (accepting a delivery, claiming and finishing jobs, dedupe and
 * lookups) must not read every row of a table that grows with history: their cost would grow with
 * the bot's age. Each statement the store prepared during such a workload is explained, and no
 * plan step may be a bare "SCAN <growing table>" or a temporary B-tree for sorting.
 */
const growing = ['jobs', 'deliveries', 'seen_keys', 'events', 'audit_log', 'deployments', 'api_tokens', 'message_refs', 'deployment_logs'];

function parametersOf(sql: string): Record<string, null> | null[] {
  const named = [...sql.matchAll(/@(\w+)/g)].map((m) => m[1] as string);
  if (named.length > 0) return Object.fromEntries(named.map((n) => [n, null]));
  return Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null);
}

describe('query plans of the hot statements (SQLite)', () => {
  test('no full scan of a growing table, no temporary sort', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const now = new Date().toISOString();
    const delivery = { source: 'github', deliveryId: 'd-1', receivedAt: now, contentType: 'application/json', headers: {}, query: {}, body: { a: 1 } };
    const { delivery: stored } = await store.acceptDelivery(delivery, { type: 'github', runAt: now, maxAttempts: 3 });
    await store.acceptDelivery(delivery, { type: 'github', runAt: now, maxAttempts: 3 });
    // Group commit: a new delivery and a duplicate in one batch.
    await store.acceptDeliveries([
      { delivery: { ...delivery, deliveryId: 'd-2' }, job: { type: 'github', runAt: now, maxAttempts: 3 }, bodyText: '{"a":1}' },
      { delivery, job: { type: 'github', runAt: now, maxAttempts: 3 } },
    ]);
    await store.getDelivery(stored.id);
    const job = await store.claimJob('instance-1', now, 30_000);
    if (!job) throw new Error('expected a job');
    await store.renewJobLease(job.id, 'instance-1', now);
    await store.failJob(job.id, 'instance-1', 'boom', now, now);
    const again = await store.claimJob('instance-1', now, 30_000);
    await store.completeJob(again?.id ?? 0, 'instance-1', now);
    await store.claimJobs('instance-1', now, 30_000, 4);
    await store.enqueueJob({ type: 'reaction', key: 'reaction:x:1', payload: {}, runAt: now, maxAttempts: 1 });
    await store.enqueueJob({ type: 'reaction', key: 'reaction:x:1', payload: {}, runAt: now, maxAttempts: 1 });
    await store.markSeen('slack', 'message:C1:1.2', now);
    await store.isSeen('slack', 'message:C1:1.2');
    await store.findByExternal('github', '42');
    await store.findMessage('deployment', '1', 'slack');
    await store.findApiToken('0'.repeat(64), now);
    await store.claimNextDeployment('hello', 'staging', now);

    const db = (store as unknown as { db: Database.Database }).db;
    const statements = [...(store as unknown as { statements: Map<string, unknown> }).statements.keys()];
    expect(statements.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const sql of statements) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(parametersOf(sql)) as Array<{ detail: string }>;
      for (const { detail } of plan) {
        const bareScan = new RegExp(`^SCAN (${growing.join('|')})$`).test(detail);
        if (bareScan || detail.startsWith('USE TEMP B-TREE')) problems.push(`${detail}\n    in: ${sql.replace(/\s+/g, ' ').trim()}`);
      }
    }
    await store.close();
    expect(problems).toEqual([]);
  });

  test("operators' lists (deliveries, jobs, audit, tokens) walk an index: no scan of a growing table except an unfiltered newest-first page, no temporary sort", async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const now = new Date().toISOString();
    const { delivery } = await store.acceptDelivery({ source: 'github', deliveryId: 'd-1', receivedAt: now, contentType: 'application/json', headers: {}, query: {}, body: {} }, { type: 'github', runAt: now });
    const pages = [{}, { source: 'github' }, { since: now }, { cursor: 5 }, { source: 'github', since: now, cursor: 5 }, { id: delivery.id }];
    for (const page of pages) {
      await store.listDeliveries(page);
      await store.listDeliveries({ ...page, outcome: 'dead' });
    }
    for (const jobs of [{}, { state: 'dead' as const }, { type: 'github' }, { state: 'dead' as const, type: 'github' }]) await store.listJobs(jobs);
    await store.retryJob(1, now);
    const audits = [{}, { actor: 'a' }, { action: 'deploy' }, { app: 'web' }, { environment: 'prod' }, { since: now }, { until: now }, { since: now, until: now }, { beforeId: 9 }, { app: 'web', environment: 'prod', since: now }];
    for (const audit of audits) await store.listAudit(audit);
    await store.appendAudit({ at: now, actor: 'a', action: 'deploy', target: 'web/main to prod', outcome: 'ok', details: {} });
    await store.createOperatorToken({ name: 'ci', hash: 'h', role: 'r', createdBy: 'cli', createdAt: now, expiresAt: null }, now);
    await store.findOperatorToken('h', now);
    await store.listOperatorTokens();
    await store.revokeOperatorToken('ci', now);

    const db = (store as unknown as { db: Database.Database }).db;
    const statements = [...(store as unknown as { statements: Map<string, unknown> }).statements.keys()].filter((sql) => /deliveries|FROM jobs|audit_log|operator_tokens/.test(sql) && !/^\s*INSERT INTO (deliveries|jobs)\b/.test(sql));
    expect(statements.length).toBeGreaterThan(25);
    const problems: string[] = [];
    for (const sql of statements) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(parametersOf(sql)) as Array<{ detail: string }>;
      // An unfiltered page ("the newest 50") walks the primary key backwards and stops at its LIMIT.
      let outer = sql;
      while (/\([^()]*\)/.test(outer)) outer = outer.replace(/\([^()]*\)/g, '');
      const unfilteredPage = !/\bWHERE\b/.test(outer) && /ORDER BY (\w+\.)?id DESC LIMIT \?\s*$/.test(sql);
      for (const { detail } of plan) {
        const bareScan = new RegExp(`^SCAN (\\w+ )?(${growing.join('|')}|d|j)$`).test(detail) || /^SCAN operator_tokens$/.test(detail);
        if ((bareScan && !unfilteredPage) || detail.startsWith('USE TEMP B-TREE')) problems.push(`${detail}\n    in: ${sql.replace(/\s+/g, ' ').trim()}`);
      }
    }
    await store.close();
    expect(problems).toEqual([]);
  });

  test('retention deletes find their rows through an index: no scan at all, no temporary sort', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    for (const kind of pruneKinds) await store.prune(kind, new Date().toISOString(), 500);

    const db = (store as unknown as { db: Database.Database }).db;
    const deletes = [...(store as unknown as { statements: Map<string, unknown> }).statements.keys()].filter((sql) => /^\s*DELETE\b/i.test(sql));
    expect(deletes).toHaveLength(pruneKinds.length);
    const problems: string[] = [];
    for (const sql of deletes) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(parametersOf(sql)) as Array<{ detail: string }>;
      // Even "SCAN <table> USING INDEX" walks a whole (partial) index: a batch must start where
      // its rows are, so every step that reads a table is a SEARCH.
      for (const { detail } of plan) {
        if (detail.startsWith('SCAN ') || detail.startsWith('USE TEMP B-TREE')) problems.push(`${detail}\n    in: ${sql.replace(/\s+/g, ' ').trim()}`);
      }
    }
    await store.close();
    expect(problems).toEqual([]);
  });
});
