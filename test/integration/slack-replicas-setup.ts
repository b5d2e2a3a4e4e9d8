import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { projectRoot } from '../../src/app.js';
import { typeParsers } from '../../src/store/postgres/db.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import type { Backend } from '../fixtures/replicas.js';
import { createTestDatabase, type TestDatabase } from '../unit/store/pg-test-db.js';
import { startBot, type BotProcess } from './bot-process.js';

/**
 * Several real Deckhand processes on Slack (Socket Mode or HTTP mode) sharing one store — a SQLite
 * file, or a PostgreSQL database of the test's own — and one fake Slack. The config: U0ALICE
 * deploys, U0CAROL approves production, notices go to C0DEPLOYS; reactions from `reactions` (name → YAML).
 */
export interface SlackReplicas {
  slack: FakeSlack;
  backend: Backend;
  cwd: string;
  /** Starts one more process; resolves once it is on Slack. `name` goes to its environment as REPLICA. */
  start(mode: 'socket' | 'http', name: string, env?: Record<string, string>): Promise<BotProcess>;
  /** The rows a query returns (`?` placeholders on either backend). */
  rows<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  cleanup(): Promise<void>;
}

export const signingSecret = 'replicas-signing-secret-0123456789';

export async function slackReplicas(options: { backend: Backend; reactions?: Record<string, string>; env?: Record<string, string> }): Promise<SlackReplicas> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-slack-replicas-'));
  writeFileSync(
    path.join(cwd, 'deckhand.yaml'),
    `environments:
  staging: { aliases: [stg] }
  production: { aliases: [prod], protected: true, approvers: [U0CAROL] }
apps:
  hello:
    provider: { script: ${path.join(projectRoot, 'scripts/hello-deploy.sh')}, timeout: 30s }
    environments: [staging, production]
    default: { ref: main, environment: staging }
    notify: C0DEPLOYS
roles:
  deployers: { members: [U0ALICE], may: [deploy:*, lock:*] }
`,
  );
  const reactionsDir = path.join(cwd, 'reactions');
  mkdirSync(reactionsDir);
  for (const [name, yaml] of Object.entries(options.reactions ?? {})) writeFileSync(path.join(reactionsDir, `${name}.yaml`), yaml);
  const database: TestDatabase | null = options.backend === 'postgres' ? await createTestDatabase('slackreplicas') : null;
  const databaseUrl = database?.url ?? `sqlite:${path.join(cwd, 'data', 'deckhand.db')}`;
  const slack = await startFakeSlack();
  const bots: BotProcess[] = [];
  let client: pg.Client | null = null;
  return {
    slack,
    backend: options.backend,
    cwd,
    async start(mode, name, env = {}) {
      const bot = await startBot({
        cwd,
        env: {
          DECKHAND_CONFIG: path.join(cwd, 'deckhand.yaml'),
          DECKHAND_REACTIONS: reactionsDir,
          DATABASE_URL: databaseUrl,
          SLACK_BOT_TOKEN: slack.workspace.botToken,
          SLACK_API_URL: slack.apiUrl,
          ...(mode === 'socket' ? { SLACK_APP_TOKEN: slack.workspace.appToken } : { SLACK_SIGNING_SECRET: signingSecret }),
          LOG_LEVEL: 'warn',
          REPLICA: name,
          ...options.env,
          ...env,
        },
      });
      bots.push(bot);
      await bot.waitFor(mode === 'socket' ? 'Deckhand on Slack (Socket Mode)' : 'Deckhand on Slack (HTTP mode', 30_000);
      return bot;
    },
    async rows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
      if (database !== null) {
        if (client === null) {
          client = new pg.Client({ connectionString: database.url, types: typeParsers });
          await client.connect();
        }
        let n = 0;
        return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
      }
      const db = new Database(path.join(cwd, 'data', 'deckhand.db'), { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },
    async cleanup() {
      const running = bots.filter((bot) => bot.child.exitCode === null && bot.child.signalCode === null);
      for (const bot of running) bot.child.kill('SIGKILL');
      await Promise.all(running.map((bot) => bot.exited));
      await (client as pg.Client | null)?.end().catch(() => {});
      await slack.close();
      await database?.drop();
    },
  };
}
