import type { Migration } from './migrations.js';

/**
 * The SQLite store's schema, version by version (applied by ./migrations.ts). Append new versions
 * at the end; never edit one that has shipped. PostgreSQL's list (../postgres/migrations.ts) keeps
 * the same version numbers.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE deployments (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        app          TEXT    NOT NULL,
        environment  TEXT    NOT NULL,
        ref          TEXT    NOT NULL,
        state        TEXT    NOT NULL
                     CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        provider     TEXT    NOT NULL,
        source       TEXT    NOT NULL,
        requested_by TEXT    NOT NULL,
        room         TEXT,
        dry_run      INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1)),
        forced       INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1)),
        rollback_of  INTEGER REFERENCES deployments (id),
        created_at   TEXT    NOT NULL,
        started_at   TEXT,
        finished_at  TEXT,
        exit_code    INTEGER,
        reason       TEXT,
        log_tail     TEXT
      );
      CREATE INDEX deployments_by_target ON deployments (app, environment, id DESC);
      CREATE INDEX deployments_by_environment ON deployments (environment, id DESC);
      -- The queue: the oldest queued deployment of a target is the next one to run.
      CREATE INDEX deployments_queued ON deployments (app, environment, id) WHERE state = 'queued';
      -- The invariant the whole queue rests on: at most one running deployment per target.
      CREATE UNIQUE INDEX deployments_one_running ON deployments (app, environment) WHERE state = 'running';

      CREATE TABLE releases (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        app        TEXT NOT NULL,
        version    TEXT NOT NULL,
        notes      TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (app, version)
      );
      CREATE INDEX releases_by_app ON releases (app, id DESC);

      -- app = '' is an environment-wide lock (a primary key column cannot usefully be NULL).
      CREATE TABLE locks (
        environment TEXT NOT NULL,
        app         TEXT NOT NULL DEFAULT '',
        holder      TEXT NOT NULL,
        reason      TEXT,
        since       TEXT NOT NULL,
        PRIMARY KEY (environment, app)
      );

      CREATE TABLE events (
        id   INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        at   TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX events_by_type ON events (type, id);

      CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        target  TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
        details TEXT NOT NULL
      );
      CREATE INDEX audit_by_action ON audit_log (action, id DESC);
      CREATE INDEX audit_by_actor ON audit_log (actor, id DESC);
    `,
  },
  {
    version: 2,
    name: 'chat: request origin, message references, seen keys',
    sql: `
      ALTER TABLE deployments ADD COLUMN origin TEXT;

      CREATE TABLE message_refs (
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        adapter    TEXT NOT NULL,
        channel    TEXT NOT NULL,
        ts         TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, key, adapter)
      );

      -- Delivery / event ids already handled; a repeat is acknowledged and not processed again.
      CREATE TABLE seen_keys (
        scope TEXT NOT NULL,
        key   TEXT NOT NULL,
        at    TEXT NOT NULL,
        PRIMARY KEY (scope, key)
      );
    `,
  },
  {
    version: 3,
    name: 'approvals',
    sql: `
      CREATE TABLE approvals (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        deployment_id INTEGER NOT NULL UNIQUE REFERENCES deployments (id),
        environment   TEXT NOT NULL,
        requested_by  TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'expired')),
        created_at    TEXT NOT NULL,
        expires_at    TEXT NOT NULL,
        decided_by    TEXT,
        decided_at    TEXT
      );
      CREATE INDEX approvals_pending ON approvals (expires_at) WHERE state = 'pending';
    `,
  },
  {
    version: 4,
    name: 'deployment logs',
    sql: `
      -- Existing rows get a random token too, so every deployment has a log URL.
      ALTER TABLE deployments ADD COLUMN log_token TEXT NOT NULL DEFAULT '';
      UPDATE deployments SET log_token = lower(hex(randomblob(18))) WHERE log_token = '';

      CREATE TABLE deployment_logs (
        deployment_id INTEGER NOT NULL REFERENCES deployments (id),
        seq           INTEGER NOT NULL,
        stream        TEXT    NOT NULL CHECK (stream IN ('stdout', 'stderr')),
        line          TEXT    NOT NULL,
        at            TEXT    NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      );
    `,
  },
  {
    version: 5,
    name: 'inbox and jobs',
    sql: `
      CREATE TABLE deliveries (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        source       TEXT NOT NULL,
        delivery_id  TEXT NOT NULL,
        received_at  TEXT NOT NULL,
        content_type TEXT NOT NULL,
        headers      TEXT NOT NULL,
        query        TEXT NOT NULL,
        body         TEXT NOT NULL,
        UNIQUE (source, delivery_id)
      );

      CREATE TABLE jobs (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        type             TEXT    NOT NULL,
        key              TEXT    UNIQUE,
        payload          TEXT    NOT NULL,
        state            TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL DEFAULT 5,
        run_at           TEXT    NOT NULL,
        lease_owner      TEXT,
        lease_expires_at TEXT,
        last_error       TEXT,
        created_at       TEXT    NOT NULL,
        finished_at      TEXT
      );
      CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state IN ('pending', 'running');
    `,
  },
  {
    version: 6,
    name: 'api tokens',
    sql: `
      CREATE TABLE api_tokens (
        hash       TEXT PRIMARY KEY,
        actor      TEXT NOT NULL,
        scopes     TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 7,
    name: 'external deployments',
    sql: `
      ALTER TABLE deployments ADD COLUMN external TEXT;
      ALTER TABLE deployments ADD COLUMN external_key TEXT;
      CREATE UNIQUE INDEX deployments_by_external ON deployments (external_key) WHERE external_key IS NOT NULL;
      -- Mirrored deployments run elsewhere: they do not take the one-running slot of a target.
      DROP INDEX deployments_one_running;
      CREATE UNIQUE INDEX deployments_one_running ON deployments (app, environment)
        WHERE state = 'running' AND provider NOT LIKE 'external:%';
    `,
  },
  {
    version: 8,
    name: 'on-call incidents',
    sql: `
      CREATE TABLE incidents (
        entity_id   TEXT PRIMARY KEY,
        generation  INTEGER NOT NULL,
        number      TEXT,
        phase       TEXT NOT NULL CHECK (phase IN ('triggered', 'acknowledged', 'resolved')),
        title       TEXT NOT NULL,
        message     TEXT,
        routing_key TEXT,
        by_user     TEXT,
        updated_at  TEXT NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'api tokens belong to a run',
    sql: `
      -- Tokens made before this version carried every scope and acted as Deckhand itself; their
      -- runs ended with the process that is being upgraded, so none of them is needed any more.
      DELETE FROM api_tokens;
      -- The job and attempt whose script got the token: it is valid only while that run goes on.
      ALTER TABLE api_tokens ADD COLUMN job_id INTEGER;
      ALTER TABLE api_tokens ADD COLUMN job_attempt INTEGER;
      CREATE INDEX api_tokens_by_expiry ON api_tokens (expires_at);
    `,
  },
  {
    version: 10,
    name: 'instances, heartbeats and owned deployments',
    sql: `
      -- Every Deckhand process on this store; alive while its heartbeat keeps expires_at ahead.
      CREATE TABLE instances (
        id         TEXT PRIMARY KEY,
        host       TEXT    NOT NULL,
        pid_scope  TEXT,
        pid        INTEGER NOT NULL,
        started_at TEXT    NOT NULL,
        expires_at TEXT    NOT NULL,
        stopped_at TEXT
      );
      -- Who runs a deployment, by when it must be over, its script's process group (JSON), and
      -- how long a finished deployment whose script may still run goes on holding its target.
      ALTER TABLE deployments ADD COLUMN run_owner TEXT;
      ALTER TABLE deployments ADD COLUMN run_deadline TEXT;
      ALTER TABLE deployments ADD COLUMN run_process TEXT;
      ALTER TABLE deployments ADD COLUMN held_until TEXT;
      -- The invariant, now with holds: one deployment per target is running, or holding the target
      -- after an interruption, never two. A claim cannot slip past a hold even if its check did.
      DROP INDEX deployments_one_running;
      CREATE UNIQUE INDEX deployments_one_running ON deployments (app, environment)
        WHERE (state = 'running' OR held_until IS NOT NULL) AND provider NOT LIKE 'external:%';
      CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner) WHERE state = 'running';
    `,
  },  {
    version: 11,
    name: 'pending chat confirmations',
    sql: `
      -- A question the bot asked ("reply yes to go ahead"), so the answer counts in any process.
      CREATE TABLE confirmations (
        key        TEXT PRIMARY KEY,
        command    TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX confirmations_by_expiry ON confirmations (expires_at);
    `,
  },
  {
    version: 12,
    name: 'retention indexes',
    sql: `
      -- Retention (Store.prune) deletes old rows in small batches, oldest first, through these.
      CREATE INDEX deliveries_by_received ON deliveries (received_at);
      CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('done', 'dead');
      -- A delivery is the input of its job: one a pending or running job reads is never deleted.
      CREATE INDEX jobs_live_by_delivery ON jobs (json_extract(payload, '$.deliveryId')) WHERE state IN ('pending', 'running');
      CREATE INDEX seen_keys_by_at ON seen_keys (at);
      CREATE INDEX events_by_at ON events (at);
      CREATE INDEX audit_by_at ON audit_log (at);
      CREATE INDEX deployments_by_finished ON deployments (finished_at);
    `,
  },
  {
    version: 13,
    name: 'request keys',
    sql: `
      -- The idempotency key of the request that made a deployment or release (a reaction step's run id,
      -- an API Idempotency-Key) and a hash of what it asked: a repeat finds the first result.
      ALTER TABLE deployments ADD COLUMN request_key TEXT;
      ALTER TABLE deployments ADD COLUMN request_hash TEXT;
      CREATE UNIQUE INDEX deployments_by_request_key ON deployments (request_key) WHERE request_key IS NOT NULL;
      ALTER TABLE releases ADD COLUMN request_key TEXT;
      ALTER TABLE releases ADD COLUMN request_hash TEXT;
      CREATE UNIQUE INDEX releases_by_request_key ON releases (request_key) WHERE request_key IS NOT NULL;
    `,
  },
  {
    version: 14,
    name: 'chat pacing',
    sql: `
      -- The next free send slot of each chat channel, shared by every process (Store.reserveChatSlot).
      CREATE TABLE chat_pacing (
        adapter TEXT NOT NULL,
        channel TEXT NOT NULL,
        next_at TEXT NOT NULL,
        PRIMARY KEY (adapter, channel)
      );
      CREATE INDEX chat_pacing_by_next_at ON chat_pacing (next_at);
    `,
  },
  {
    version: 15,
    name: 'operator tokens; operator queries on deliveries, jobs and the audit log',
    sql: `
      -- Long-lived tokens of people and CI (deckhand token create); only the hash is kept.
      CREATE TABLE operator_tokens (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT NOT NULL,
        hash       TEXT NOT NULL UNIQUE,
        role       TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
      );
      CREATE UNIQUE INDEX operator_tokens_live_name ON operator_tokens (name) WHERE revoked_at IS NULL;
      -- The audit log searched by app and environment (earlier records have neither).
      ALTER TABLE audit_log ADD COLUMN app TEXT;
      ALTER TABLE audit_log ADD COLUMN environment TEXT;
      CREATE INDEX audit_by_app ON audit_log (app, id DESC);
      CREATE INDEX audit_by_environment ON audit_log (environment, id DESC);
      -- Deliveries by source, each with the jobs that processed it, and jobs by state (dead ones).
      CREATE INDEX deliveries_by_source ON deliveries (source, id);
      CREATE INDEX jobs_by_delivery ON jobs (json_extract(payload, '$.deliveryId'), id) WHERE json_extract(payload, '$.deliveryId') IS NOT NULL;
      CREATE INDEX jobs_by_state ON jobs (state, id);
      CREATE INDEX jobs_by_type ON jobs (type, id);
    `,
  },
  {
    version: 16,
    name: 'retention of the records of reaction chat steps',
    sql: `
      -- Store.prune('posts'): the message references reaction chat steps leave (kind reaction-step), oldest first.
      CREATE INDEX message_refs_steps ON message_refs (updated_at) WHERE kind = 'reaction-step';
    `,
  },
  {
    version: 17,
    name: 'chat conversation addresses (Teams serviceUrl)',
    sql: `
      -- Where a chat conversation is answered (Teams: the serviceUrl a verified Bot Framework token named),
      -- so any process, and one started later, can post into it.
      CREATE TABLE chat_conversations (
        adapter         TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        service_url     TEXT NOT NULL,
        tenant_id       TEXT,
        updated_at      TEXT NOT NULL,
        PRIMARY KEY (adapter, conversation_id)
      );
    `,
  },
  {
    version: 18,
    name: 'one index fewer on jobs',
    sql: `
      -- Every claim and completion rewrote this index (its WHERE names state) and evaluated json_extract
      -- twice for it. Retention's "no live job reads this delivery" looks the delivery up in
      -- jobs_by_delivery (migration 15) instead: a delivery has one job or a few.
      DROP INDEX jobs_live_by_delivery;
    `,
  },
];
