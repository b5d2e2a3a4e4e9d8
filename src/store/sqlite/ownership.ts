import type { Deployment, DeploymentOutcome, Instance, NewInstance, OrphanedDeployment, ScriptProcess } from '../../core/model.js';
import type { Prepare } from './approvals.js';
import { toDeployment, toJson, toRun, type DeploymentRow } from './rows.js';
import { toInstance, type InstanceRow } from '../row-mappers.js';

/**
 * Instances, heartbeats and owned deployments on SQLite (migration 10). The Store interface
 * (types.ts) says what each does; these are the queries. Callers run the writes that read first
 * inside an IMMEDIATE transaction, so "is the owner live?" and the write that depends on it see
 * the same database.
 */

/** SQL: true when the deployment row `d` has an owner that is live at @now. */
const ownerIsLive = (d: string) => `EXISTS (
  SELECT 1 FROM instances i WHERE i.id = ${d}.run_owner AND i.stopped_at IS NULL AND i.expires_at > @now)`;


const dayMs = 86_400_000;

export function upsertInstance(prepare: Prepare, instance: NewInstance): void {
  prepare(`
    INSERT INTO instances (id, host, pid_scope, pid, started_at, expires_at, stopped_at)
    VALUES (@id, @host, @pidScope, @pid, @startedAt, @expiresAt, NULL)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid_scope = excluded.pid_scope, pid = excluded.pid,
      started_at = excluded.started_at, expires_at = excluded.expires_at, stopped_at = NULL`).run(instance);
  const longAgo = new Date(new Date(instance.startedAt).getTime() - dayMs).toISOString();
  prepare('DELETE FROM instances WHERE stopped_at IS NOT NULL AND stopped_at < ?').run(longAgo);
}

export function renewInstanceRow(prepare: Prepare, id: string, now: string, expiresAt: string): boolean {
  return prepare('UPDATE instances SET expires_at = @expiresAt WHERE id = @id AND stopped_at IS NULL AND expires_at > @now').run({ id, now, expiresAt }).changes === 1;
}

/** Marks the instance stopped and hands back the jobs it leases; resolves how many. */
export function stopInstanceRow(prepare: Prepare, id: string, now: string): number {
  prepare('UPDATE instances SET stopped_at = @now WHERE id = @id AND stopped_at IS NULL').run({ id, now });
  return prepare(`
    UPDATE jobs SET state = 'pending', run_at = @now, lease_owner = NULL, lease_expires_at = NULL
    WHERE state = 'running' AND lease_owner = @id`).run({ id, now }).changes;
}

export function liveOrLapsedInstances(prepare: Prepare): Instance[] {
  return (prepare('SELECT * FROM instances WHERE stopped_at IS NULL ORDER BY started_at, id').all() as InstanceRow[]).map(toInstance);
}

export function setDeploymentProcess(prepare: Prepare, id: number, owner: string, process: ScriptProcess): boolean {
  return prepare(`UPDATE deployments SET run_process = ? WHERE id = ? AND state = 'running' AND run_owner = ?`).run(toJson(process), id, owner).changes === 1;
}

export function orphanedDeployments(prepare: Prepare, now: string): OrphanedDeployment[] {
  const rows = prepare(`
    -- Read through the partial index of running and held deployments (a handful), not the whole table;
    -- the first two terms are its condition, which INDEXED BY requires.
    SELECT * FROM deployments d INDEXED BY deployments_one_running
    WHERE (d.state = 'running' OR d.held_until IS NOT NULL) AND d.provider NOT LIKE 'external:%'
      AND (d.held_until IS NOT NULL OR NOT ${ownerIsLive('d')})
    ORDER BY d.id LIMIT 100`).all({ now }) as DeploymentRow[];
  return rows.map((row) => ({ deployment: toDeployment(row), run: toRun(row) }));
}

/** Finishes a running deployment whose owner is not live, with an optional hold; null when it may not. */
export function takeOver(prepare: Prepare, id: number, now: string, outcome: DeploymentOutcome, holdUntil: string | null): Deployment | null {
  const row = prepare(`
    UPDATE deployments AS d
    SET state = @state, finished_at = @finishedAt, exit_code = @exitCode, reason = @reason, log_tail = @logTail,
      held_until = CASE WHEN @holdUntil > @now THEN @holdUntil ELSE NULL END
    WHERE d.id = @id AND d.state = 'running' AND d.provider NOT LIKE 'external:%' AND NOT ${ownerIsLive('d')}
    RETURNING *`).get({
    id,
    now,
    holdUntil,
    state: outcome.state,
    finishedAt: outcome.finishedAt,
    exitCode: outcome.exitCode ?? null,
    reason: outcome.reason ?? null,
    logTail: outcome.logTail ?? null,
  }) as DeploymentRow | undefined;
  return row === undefined ? null : toDeployment(row);
}

/** Moves a running deployment whose owner is not live to the live instance `owner`; null when it may not. */
export function adopt(prepare: Prepare, id: number, owner: string, now: string): Deployment | null {
  const row = prepare(`
    UPDATE deployments AS d SET run_owner = @owner, run_process = NULL
    WHERE d.id = @id AND d.state = 'running' AND d.provider NOT LIKE 'external:%' AND NOT ${ownerIsLive('d')}
      AND EXISTS (SELECT 1 FROM instances i WHERE i.id = @owner AND i.stopped_at IS NULL AND i.expires_at > @now)
    RETURNING *`).get({ id, owner, now }) as DeploymentRow | undefined;
  return row === undefined ? null : toDeployment(row);
}

export function clearHold(prepare: Prepare, id: number): boolean {
  return prepare('UPDATE deployments SET held_until = NULL WHERE id = ? AND held_until IS NOT NULL').run(id).changes === 1;
}

/** Inside a claim: holds on the target that ran out by `now` end. */
export function clearLapsedHolds(prepare: Prepare, app: string, environment: string, now: string): void {
  prepare('UPDATE deployments SET held_until = NULL WHERE app = ? AND environment = ? AND held_until IS NOT NULL AND held_until <= ?').run(app, environment, now);
}
