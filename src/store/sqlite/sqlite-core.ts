import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DeckhandError, ErrorCode } from '../../core/errors.js';
import type { AcquireLockResult, AuditQuery, AuditRecord, Deployment, DeploymentOutcome, DeploymentQuery, ExternalDeployment, Lock, NewAuditRecord, NewDeployment, NewRelease, Release, StoredEvent } from '../../core/model.js';
import { finishedStates } from '../../core/model.js';
import { insertApproval } from './approvals.js';
import { acquire, allLocks, deleteLock, lockOn, locksOn } from './locks.js';
import { Checkpointer } from './checkpointer.js';
import { insertAudit, listAuditRows } from './operator-queries.js';
import { runMigrations } from './migrations.js';
import { requestKeyUsed } from '../request-key.js';
import { clearLapsedHolds } from './ownership.js';
import { clampLimit, listLimits, whereClause } from './query.js';
import { type DeploymentRow, type EventRow, type ReleaseRow, toDeployment, toEvent, toJson, toRelease } from './rows.js';

/** The main connection's own checkpoint threshold while the thread checkpoints (16,384 pages: 64 MiB of WAL at 4 KiB pages). */
const fallbackCheckpointPages = 16_384;

function externalKey(system: string, id: string): string {
  return `${system}:${id}`;
}

/**
 * The SQLite connection and the core tables (deployments, releases, locks, events, audit);
 * SqliteStore (sqlite-store.ts) adds the rest of the Store interface on top.
 * The Store on SQLite (better-sqlite3). Every write that reads before it writes runs in an
 * IMMEDIATE transaction, so it holds the database write lock from its first read and other
 * connections (other processes included) wait for it (busy_timeout) instead of interleaving.
 */
export class SqliteCore {
  protected readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();
  private readonly inMemory: boolean;
  /** WAL checkpoints on a thread of their own (checkpointer.ts), started by the first heavy writer. */
  private checkpointer: Checkpointer | null = null;

  /** `path` is a file path (its directory is created when missing) or ':memory:'. */
  constructor(readonly path: string) {
    const inMemory = path === ':memory:' || path === '';
    this.inMemory = inMemory;
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    if (!inMemory) this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = NORMAL');
  }

  async migrate(): Promise<void> {
    runMigrations(this.db);
  }

  async ping(): Promise<void> {
    this.statement('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.statements.clear();
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }

  /**
   * Moves WAL checkpoints off this connection (and so off the event loop) onto a thread: called by
   * the writers that write the most (webhook deliveries), once; a bot that stores no delivery never
   * starts the thread. Until the thread is up, and if it ever fails, this connection checkpoints
   * as SQLite does by default.
   */
  protected checkpointElsewhere(): void {
    if (this.checkpointer || this.inMemory || !this.db.open) return;
    this.checkpointer = new Checkpointer({
      path: this.path,
      onOnline: () => {
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${fallbackCheckpointPages}`);
      },
      onError: (err) => {
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
        process.emitWarning(`deckhand: the SQLite checkpoint thread stopped (${err.message}); checkpoints run on the main connection again`);
      },
    });
  }

  // --- deployments -------------------------------------------------------------------------

  async createDeployment(input: NewDeployment): Promise<Deployment> {
    const insert = this.statement(`
      INSERT INTO deployments
        (app, environment, ref, state, provider, source, requested_by, room, dry_run, forced, rollback_of, origin, log_token, created_at, external, external_key, request_key, request_hash)
      VALUES
        (@app, @environment, @ref, 'queued', @provider, @source, @requestedBy, @room, @dryRun, @forced, @rollbackOf, @origin, @logToken, @createdAt, @external, @externalKey, @requestKey, @requestHash)
      RETURNING *`);
    const params = {
      app: input.app,
      environment: input.environment,
      ref: input.ref,
      provider: input.provider,
      source: input.source,
      requestedBy: input.requestedBy,
      room: input.room ?? null,
      dryRun: input.dryRun ? 1 : 0,
      forced: input.forced ? 1 : 0,
      rollbackOf: input.rollbackOf ?? null,
      origin: input.origin ? toJson(input.origin) : null,
      logToken: randomBytes(18).toString('base64url'),
      createdAt: input.createdAt,
      external: input.external ? toJson(input.external) : null,
      externalKey: input.external ? externalKey(input.external.system, input.external.id) : null,
      requestKey: input.request?.key ?? null,
      requestHash: input.request?.hash ?? null,
    };
    try {
      return this.immediate(() => {
        // Inside the write lock: of two requests with one key, the second sees the first's row.
        const first = input.request ? this.deploymentByRequest(input.request.key) : null;
        if (first) throw requestKeyUsed(input.request!.key, { deployment: first.deployment });
        const created = toDeployment(insert.get(params) as DeploymentRow);
        if (input.approval) {
          insertApproval(this.prepare, { deploymentId: created.id, environment: created.environment, requestedBy: created.requestedBy, createdAt: created.createdAt, expiresAt: input.approval.expiresAt });
        }
        return created;
      });
    } catch (err) {
      if (input.external && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw this.externalTaken(input.external, err);
      if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new DeckhandError(
          ErrorCode.NotFound,
          `Cannot roll back deployment #${input.rollbackOf}: it does not exist.`,
          { rollbackOf: input.rollbackOf },
          { cause: err },
        );
      }
      throw err;
    }
  }

  async claimNextDeployment(app: string, environment: string, now: string, run?: { owner: string; deadline: string | null }): Promise<Deployment | null> {
    return this.immediate(() => {
      clearLapsedHolds(this.prepare, app, environment, now);
      // Running, or finished but holding the target (its script may still run): either way, wait.
      const busy = this.statement(
        `SELECT 1 FROM deployments WHERE app = ? AND environment = ? AND (state = 'running' OR held_until IS NOT NULL) AND provider NOT LIKE 'external:%' LIMIT 1`,
      ).get(app, environment);
      if (busy !== undefined) return null;
      const claimed = this.statement(`
        UPDATE deployments SET state = 'running', started_at = @now, run_owner = @owner, run_deadline = @deadline
        WHERE id = (
          SELECT id FROM deployments
          WHERE app = @app AND environment = @environment AND state = 'queued'
            AND provider NOT LIKE 'external:%'
            AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.deployment_id = deployments.id AND a.state <> 'approved')
          ORDER BY id LIMIT 1
        )
        RETURNING *`).get({ app, environment, now, owner: run?.owner ?? null, deadline: run?.deadline ?? null }) as DeploymentRow | undefined;
      return claimed === undefined ? null : toDeployment(claimed);
    });
  }

  async finishDeployment(id: number, outcome: DeploymentOutcome): Promise<Deployment> {
    return this.immediate(() => {
      const current = this.deploymentById(id);
      if (current === null) {
        throw new DeckhandError(ErrorCode.NotFound, `Deployment #${id} does not exist.`, { id });
      }
      if (finishedStates.includes(current.state)) {
        throw new DeckhandError(ErrorCode.Conflict, `Deployment #${id} has already finished (${current.state}).`, {
          deployment: current,
        });
      }
      const row = this.statement(`
        UPDATE deployments
        SET state = @state, finished_at = @finishedAt, exit_code = @exitCode, reason = @reason, log_tail = @logTail
        WHERE id = @id
        RETURNING *`).get({
        id,
        state: outcome.state,
        finishedAt: outcome.finishedAt,
        exitCode: outcome.exitCode ?? null,
        reason: outcome.reason ?? null,
        logTail: outcome.logTail ?? null,
      }) as DeploymentRow;
      return toDeployment(row);
    });
  }

  async getDeployment(id: number): Promise<Deployment | null> {
    return this.deploymentById(id);
  }

  async findDeploymentByRequest(key: string): Promise<{ deployment: Deployment; hash: string } | null> {
    return this.deploymentByRequest(key);
  }

  private deploymentByRequest(key: string): { deployment: Deployment; hash: string } | null {
    const row = this.statement('SELECT * FROM deployments WHERE request_key = ?').get(key) as (DeploymentRow & { request_hash: string }) | undefined;
    return row === undefined ? null : { deployment: toDeployment(row), hash: row.request_hash };
  }

  async linkExternal(id: number, external: ExternalDeployment): Promise<Deployment> {
    try {
      const row = this.statement('UPDATE deployments SET external = ?, external_key = ? WHERE id = ? RETURNING *').get(
        toJson(external),
        externalKey(external.system, external.id),
        id,
      ) as DeploymentRow | undefined;
      if (row === undefined) throw new DeckhandError(ErrorCode.NotFound, `Deployment #${id} does not exist.`, { id });
      return toDeployment(row);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw this.externalTaken(external, err);
      throw err;
    }
  }

  async findByExternal(system: string, id: string): Promise<Deployment | null> {
    const row = this.statement('SELECT * FROM deployments WHERE external_key = ?').get(externalKey(system, id));
    return row === undefined ? null : toDeployment(row as DeploymentRow);
  }

  async markMirrorStarted(id: number, now: string): Promise<Deployment | null> {
    const row = this.statement(`
      UPDATE deployments SET state = 'running', started_at = ?
      WHERE id = ? AND state = 'queued' AND provider LIKE 'external:%'
      RETURNING *`).get(now, id) as DeploymentRow | undefined;
    return row === undefined ? null : toDeployment(row);
  }

  private externalTaken(external: ExternalDeployment, cause: unknown): DeckhandError {
    return new DeckhandError(ErrorCode.Conflict, `${external.system} deployment ${external.id} is already linked to another deployment.`, { external }, { cause });
  }

  /** Newest first. An empty `states` list matches nothing. */
  async listDeployments(query: DeploymentQuery = {}): Promise<Deployment[]> {
    if (query.states?.length === 0) return [];
    const where = whereClause([
      query.app === undefined ? undefined : ['app = ?', query.app],
      query.environment === undefined ? undefined : ['environment = ?', query.environment],
      query.states === undefined ? undefined : [`state IN (${query.states.map(() => '?').join(', ')})`, ...query.states],
      query.beforeId === undefined ? undefined : ['id < ?', query.beforeId],
    ]);
    const limit = clampLimit(query.limit, listLimits.deployments);
    const rows = this.statement(`SELECT * FROM deployments ${where.sql} ORDER BY id DESC LIMIT ?`).all(
      ...where.params,
      limit,
    );
    return (rows as DeploymentRow[]).map(toDeployment);
  }

  // --- releases ----------------------------------------------------------------------------

  async createRelease(input: NewRelease): Promise<Release> {
    // No conflict target: a used request key and an existing (app, version) both insert nothing.
    const inserted = this.statement(`
      INSERT INTO releases (app, version, notes, created_by, created_at, request_key, request_hash)
      VALUES (@app, @version, @notes, @createdBy, @createdAt, @requestKey, @requestHash)
      ON CONFLICT DO NOTHING
      RETURNING *`).get({
      app: input.app,
      version: input.version,
      notes: input.notes ?? null,
      createdBy: input.createdBy,
      createdAt: input.createdAt,
      requestKey: input.request?.key ?? null,
      requestHash: input.request?.hash ?? null,
    }) as ReleaseRow | undefined;
    if (inserted !== undefined) return toRelease(inserted);
    const first = input.request ? await this.findReleaseByRequest(input.request.key) : null;
    if (first) throw requestKeyUsed(input.request!.key, { release: first.release });
    const existing = await this.getRelease(input.app, input.version);
    throw new DeckhandError(
      ErrorCode.ReleaseExists,
      `Release ${input.version} of ${input.app} already exists.`,
      { release: existing },
    );
  }

  async findReleaseByRequest(key: string): Promise<{ release: Release; hash: string } | null> {
    const row = this.statement('SELECT * FROM releases WHERE request_key = ?').get(key) as (ReleaseRow & { request_hash: string }) | undefined;
    return row === undefined ? null : { release: toRelease(row), hash: row.request_hash };
  }

  async getRelease(app: string, version: string): Promise<Release | null> {
    const row = this.statement('SELECT * FROM releases WHERE app = ? AND version = ?').get(app, version);
    return row === undefined ? null : toRelease(row as ReleaseRow);
  }

  async listReleases(app: string, limit?: number): Promise<Release[]> {
    const rows = this.statement('SELECT * FROM releases WHERE app = ? ORDER BY id DESC LIMIT ?').all(
      app,
      clampLimit(limit, listLimits.releases),
    );
    return (rows as ReleaseRow[]).map(toRelease);
  }

  // --- locks: their queries live in locks.ts ------------------------------------------------

  async acquireLock(lock: Lock, options: { takeover?: boolean } = {}): Promise<AcquireLockResult> {
    return this.immediate(() => acquire(this.prepare, lock, options.takeover === true));
  }

  async releaseLock(environment: string, app: string | null): Promise<Lock | null> {
    return deleteLock(this.prepare, environment, app);
  }

  async getLock(environment: string, app: string | null): Promise<Lock | null> {
    return lockOn(this.prepare, environment, app);
  }

  async locksFor(environment: string, app: string): Promise<Lock[]> {
    return locksOn(this.prepare, environment, app);
  }

  async listLocks(): Promise<Lock[]> {
    return allLocks(this.prepare);
  }

  // --- events and audit --------------------------------------------------------------------

  async appendEvent(event: { type: string; at: string; data: unknown }): Promise<StoredEvent> {
    const row = this.statement('INSERT INTO events (type, at, data) VALUES (?, ?, ?) RETURNING *').get(
      event.type,
      event.at,
      toJson(event.data),
    );
    return toEvent(row as EventRow);
  }

  async listEvents(query: { type?: string; afterId?: number; limit?: number } = {}): Promise<StoredEvent[]> {
    const where = whereClause([
      query.afterId === undefined ? undefined : ['id > ?', query.afterId],
      query.type === undefined ? undefined : ['type = ?', query.type],
    ]);
    const limit = clampLimit(query.limit, listLimits.events);
    const rows = this.statement(`SELECT * FROM events ${where.sql} ORDER BY id LIMIT ?`).all(...where.params, limit);
    return (rows as EventRow[]).map(toEvent);
  }

  async appendAudit(record: NewAuditRecord): Promise<AuditRecord> {
    return insertAudit(this.prepare, record);
  }

  async listAudit(query: AuditQuery = {}): Promise<AuditRecord[]> {
    return listAuditRows(this.prepare, query);
  }

  // --- helpers -----------------------------------------------------------------------------

  protected readonly prepare = (sql: string) => this.statement(sql);

  /** A prepared statement, compiled once per distinct SQL text. */
  protected statement(sql: string): Database.Statement<unknown[], unknown> {
    let prepared = this.statements.get(sql);
    if (prepared === undefined) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /** Runs `work` in a BEGIN IMMEDIATE transaction; a throw rolls it back and propagates. */
  protected immediate<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  private deploymentById(id: number): Deployment | null {
    const row = this.statement('SELECT * FROM deployments WHERE id = ?').get(id);
    return row === undefined ? null : toDeployment(row as DeploymentRow);
  }
}
