import type { Deployment, DeploymentOutcome, Instance, NewInstance, OrphanedDeployment, ScriptProcess } from '../../core/model.js';
import type { Db, Sql } from './db.js';
import { type DeploymentRow, toDeployment, toJson, toRun } from './rows.js';
import { toInstance, type InstanceRow } from '../row-mappers.js';

/**
 * Instances, heartbeats and owned deployments on PostgreSQL (migration 10): the same rules as
 * SQLite's (src/store/sqlite/ownership.ts; the Store interface says what each does). Where SQLite's
 * write lock makes "is the owner live?" and the write that depends on it one step, here the owner's
 * instance row is locked first, so a heartbeat or a stop of that instance waits for the decision.
 */

/** SQL: true when the deployment row `d` has an owner that is live at `now` (a placeholder such as $2). */
const ownerIsLive = (d: string, now: string) => `EXISTS (
  SELECT 1 FROM instances i WHERE i.id = ${d}.run_owner AND i.stopped_at IS NULL AND i.expires_at > ${now})`;


const dayMs = 86_400_000;

export async function upsertInstance(db: Db, instance: NewInstance): Promise<void> {
  const longAgo = new Date(new Date(instance.startedAt).getTime() - dayMs).toISOString();
  await db.tx(async (sql) => {
    await sql.run(
      `INSERT INTO instances (id, host, pid_scope, pid, started_at, expires_at, stopped_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid_scope = excluded.pid_scope, pid = excluded.pid,
         started_at = excluded.started_at, expires_at = excluded.expires_at, stopped_at = NULL`,
      [instance.id, instance.host, instance.pidScope, instance.pid, instance.startedAt, instance.expiresAt],
    );
    await sql.run('DELETE FROM instances WHERE stopped_at IS NOT NULL AND stopped_at < $1', [longAgo]);
  });
}

export async function renewInstanceRow(sql: Sql, id: string, now: string, expiresAt: string): Promise<boolean> {
  return (await sql.run('UPDATE instances SET expires_at = $1 WHERE id = $2 AND stopped_at IS NULL AND expires_at > $3', [expiresAt, id, now])) === 1;
}

/** Marks the instance stopped and hands back the jobs it leases, in one transaction; resolves how many. */
export async function stopInstanceRow(db: Db, id: string, now: string): Promise<number> {
  return db.tx(async (sql) => {
    await sql.run('UPDATE instances SET stopped_at = $1 WHERE id = $2 AND stopped_at IS NULL', [now, id]);
    return sql.run(`UPDATE jobs SET state = 'pending', run_at = $1, lease_owner = NULL, lease_expires_at = NULL WHERE state = 'running' AND lease_owner = $2`, [now, id]);
  });
}

export async function liveOrLapsedInstances(sql: Sql): Promise<Instance[]> {
  return (await sql.rows<InstanceRow>('SELECT * FROM instances WHERE stopped_at IS NULL ORDER BY started_at, id')).map(toInstance);
}

export async function setDeploymentProcess(sql: Sql, id: number, owner: string, process: ScriptProcess): Promise<boolean> {
  return (await sql.run(`UPDATE deployments SET run_process = $1 WHERE id = $2 AND state = 'running' AND run_owner = $3`, [toJson(process), id, owner])) === 1;
}

export async function orphanedDeployments(sql: Sql, now: string): Promise<OrphanedDeployment[]> {
  const rows = await sql.rows<DeploymentRow>(
    `SELECT * FROM deployments d
     WHERE (d.state = 'running' AND d.provider NOT LIKE 'external:%' AND NOT ${ownerIsLive('d', '$1')})
        OR d.held_until IS NOT NULL
     ORDER BY d.id LIMIT 100`,
    [now],
  );
  return rows.map((row) => ({ deployment: toDeployment(row), run: toRun(row) }));
}

/** Finishes a running deployment whose owner is not live, with an optional hold; null when it may not. */
export async function takeOver(db: Db, id: number, now: string, outcome: DeploymentOutcome, holdUntil: string | null): Promise<Deployment | null> {
  return db.tx(async (sql) => {
    // Lock the owner's row: its heartbeat (renewInstanceRow) cannot move its expiry while we decide it has lapsed.
    await sql.run('SELECT 1 FROM instances WHERE id = (SELECT run_owner FROM deployments WHERE id = $1) FOR UPDATE', [id]);
    const row = await sql.row<DeploymentRow>(
      `UPDATE deployments AS d
       SET state = $3, finished_at = $4, exit_code = $5, reason = $6, log_tail = $7,
         held_until = CASE WHEN $8::timestamptz > $2::timestamptz THEN $8::timestamptz ELSE NULL END
       WHERE d.id = $1 AND d.state = 'running' AND NOT ${ownerIsLive('d', '$2::timestamptz')}
       RETURNING *`,
      [id, now, outcome.state, outcome.finishedAt, outcome.exitCode ?? null, outcome.reason ?? null, outcome.logTail ?? null, holdUntil],
    );
    return row === undefined ? null : toDeployment(row);
  });
}

/** Moves a running deployment whose owner is not live to the live instance `owner`; null when it may not. */
export async function adopt(db: Db, id: number, owner: string, now: string): Promise<Deployment | null> {
  return db.tx(async (sql) => {
    // Both instance rows, in id order: neither's heartbeat or stop can change the decision meanwhile.
    await sql.run('SELECT 1 FROM instances WHERE id IN ((SELECT run_owner FROM deployments WHERE id = $1), $2) ORDER BY id FOR UPDATE', [id, owner]);
    const row = await sql.row<DeploymentRow>(
      `UPDATE deployments AS d SET run_owner = $2, run_process = NULL
       WHERE d.id = $1 AND d.state = 'running' AND d.provider NOT LIKE 'external:%' AND NOT ${ownerIsLive('d', '$3::timestamptz')}
         AND EXISTS (SELECT 1 FROM instances i WHERE i.id = $2 AND i.stopped_at IS NULL AND i.expires_at > $3::timestamptz)
       RETURNING *`,
      [id, owner, now],
    );
    return row === undefined ? null : toDeployment(row);
  });
}

export async function clearHold(sql: Sql, id: number): Promise<boolean> {
  return (await sql.run('UPDATE deployments SET held_until = NULL WHERE id = $1 AND held_until IS NOT NULL', [id])) === 1;
}

/** Inside a claim: holds on the target that ran out by `now` end. */
export async function clearLapsedHolds(sql: Sql, app: string, environment: string, now: string): Promise<void> {
  await sql.run('UPDATE deployments SET held_until = NULL WHERE app = $1 AND environment = $2 AND held_until IS NOT NULL AND held_until <= $3', [app, environment, now]);
}
