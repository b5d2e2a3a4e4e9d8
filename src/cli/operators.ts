import { parseArgs } from 'node:util';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { deliveryOutcomes, type JobState } from '../core/model.js';
import type { Actor } from '../core/permissions.js';
import { listAudit, listDeliveries, listJobs, replayDelivery, retryJob, type OperatorContext } from '../operators/operator-actions.js';
import { createOperatorToken, listOperatorTokens, parseTokenLifetime, revokeOperatorToken } from '../operators/operator-tokens.js';
import type { Store } from '../store/types.js';
import { formatTable } from './table.js';

/**
 * The operator's commands: `deckhand token create|list|revoke`, `deckhand deliveries`, `replay`,
 * `jobs`, `retry`, `audit`. They work on the configured store directly (DATABASE_URL, as the bot),
 * as the person who holds the database: no permission check, but every change is audited as
 * cli:<user>. A replay or retry queues a job; the running bot's worker takes it (at its next poll
 * on SQLite, at once on PostgreSQL).
 */
export const operatorCommands = ['token', 'deliveries', 'replay', 'jobs', 'retry', 'audit'] as const;
export type OperatorCommand = (typeof operatorCommands)[number];

export const operatorUsage = `       deckhand token create --name <name> --role <role> [--expires 90d]   an operator API token (shown once)
       deckhand token list | deckhand token revoke <name>
       deckhand deliveries [--failed] [--outcome dead] [--source github] [--since 24h] [--limit N] [--cursor C]
       deckhand replay <delivery id>     process a stored delivery again
       deckhand jobs [--dead] [--state pending] [--type reaction] [--limit N]
       deckhand retry <job id>           run a dead job once more
       deckhand audit [--actor …] [--action …] [--app …] [--environment …] [--since 7d] [--until …] [--limit N]
       (each of these takes --json)`;

export interface OperatorCliContext {
  store: Store;
  config: DeckhandConfig;
  clock: Clock;
  /** The config's and the reactions' secret values, masked in what is printed. */
  secrets: readonly string[];
  /** Who runs the command (audit): cli:<os user>. */
  user: string;
  write: (text: string) => void;
}

const jobStates = ['pending', 'running', 'done', 'dead'] as const;

function usage(message: string): DeckhandError {
  return new DeckhandError(ErrorCode.Usage, `${message}\nUsage:\n${operatorUsage}`);
}

function positiveId(text: string | undefined, what: string): number {
  if (!text || !/^\d{1,15}$/.test(text) || Number(text) < 1) throw usage(`Give the ${what} id, a number (e.g. 42)${text ? `, not "${text}"` : ''}.`);
  return Number(text);
}

function limitOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 500) throw usage(`--limit takes a number from 1 to 500, not "${text}".`);
  return Number(text);
}

/** An ISO time, or a duration back from now ("24h", "7d"). */
function instantOf(option: string, text: string | undefined, now: Date): string | undefined {
  if (text === undefined) return undefined;
  const back = parseTokenLifetime(text);
  if (back !== null) return new Date(now.getTime() - back).toISOString();
  const ms = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(ms)) return new Date(ms).toISOString();
  throw usage(`--${option} takes a time (2026-11-20T09:00:00Z) or how long ago (24h, 7d), not "${text}".`);
}

function oneOf<T extends string>(option: string, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) throw usage(`--${option} is one of ${allowed.join(', ')}, not "${text}".`);
  return text as T;
}

type Options = Record<string, { type: 'string' | 'boolean' }>;
type Values<O extends Options> = { [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean } & { json?: boolean };

function parse<O extends Options>(args: readonly string[], options: O): { values: Values<O>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, strict: true, options: { ...options, json: { type: 'boolean' } } });
    return { values: values as Values<O>, positionals };
  } catch (err) {
    throw usage((err as Error).message);
  }
}

/** Runs one operator command; resolves the exit code. */
export async function runOperatorCommand(command: OperatorCommand, args: readonly string[], cli: OperatorCliContext): Promise<number> {
  const ctx: OperatorContext = { config: cli.config, store: cli.store, clock: cli.clock, secrets: () => cli.secrets };
  const actor: Actor = { id: cli.user, system: true };
  const print = (value: unknown) => cli.write(`${JSON.stringify(value, null, 2)}\n`);
  const now = cli.clock.now();

  if (command === 'token') {
    const [sub, ...rest] = args;
    if (sub === 'create') {
      const { values, positionals } = parse(rest, { name: { type: 'string' }, role: { type: 'string' }, expires: { type: 'string' } });
      if (positionals.length > 0) throw usage(`Unexpected "${positionals.join(' ')}".`);
      if (!values.name || !values.role) throw usage(`token create needs --name and --role. Roles: ${Object.keys(cli.config.roles).join(', ') || 'none'}.`);
      const { token, record } = await createOperatorToken(cli.store, cli.clock, { name: values.name, role: values.role, expiresIn: values.expires, createdBy: cli.user, roles: Object.keys(cli.config.roles) });
      await cli.store.appendAudit({ at: now.toISOString(), actor: cli.user, action: 'token.create', target: `token:${record.name}`, outcome: 'ok', details: { role: record.role, expiresAt: record.expiresAt }, app: null, environment: null });
      if (values.json) print({ token, ...record });
      else cli.write(`Token "${record.name}" acts as token:${record.name} with role ${record.role}, ${record.expiresAt ? `until ${record.expiresAt}` : 'without expiry'}:\n\n  ${token}\n\nIt is shown this once: keep it in your secret store. Use it as Authorization: Bearer <token> on /api/v1.\n`);
      return 0;
    }
    if (sub === 'list') {
      const { values, positionals } = parse(rest, {} as Options);
      if (positionals.length > 0) throw usage(`Unexpected "${positionals.join(' ')}".`);
      const tokens = await listOperatorTokens(cli.store, cli.clock);
      if (values.json) print({ tokens });
      else if (tokens.length === 0) cli.write('No operator tokens. Make one: deckhand token create --name ci --role <role>\n');
      else cli.write(`${formatTable(['NAME', 'ROLE', 'CREATED', 'BY', 'EXPIRES'], tokens.map((t) => [t.name, t.role, t.createdAt, t.createdBy, t.expiresAt ? `${t.expiresAt}${t.expired ? ' (expired)' : ''}` : 'never']))}\n`);
      return 0;
    }
    if (sub === 'revoke') {
      const { values, positionals } = parse(rest, {} as Options);
      if (positionals.length !== 1) throw usage('token revoke takes the token name: deckhand token revoke <name>.');
      const revoked = await revokeOperatorToken(cli.store, cli.clock, positionals[0] as string);
      await cli.store.appendAudit({ at: now.toISOString(), actor: cli.user, action: 'token.revoke', target: `token:${revoked.name}`, outcome: 'ok', details: { role: revoked.role }, app: null, environment: null });
      if (values.json) print(revoked);
      else cli.write(`Revoked token "${revoked.name}": it stops working at once.\n`);
      return 0;
    }
    throw usage(sub ? `Unknown token command "${sub}".` : 'token needs create, list or revoke.');
  }

  if (command === 'deliveries') {
    const { values, positionals } = parse(args, { failed: { type: 'boolean' }, outcome: { type: 'string' }, source: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } });
    if (positionals.length > 0) throw usage(`Unexpected "${positionals.join(' ')}".`);
    const outcome = values.failed ? 'dead' : oneOf('outcome', values.outcome, deliveryOutcomes);
    const page = await listDeliveries(ctx, actor, { outcome, source: values.source, since: instantOf('since', values.since, now), limit: limitOf(values.limit) ?? 20, cursor: values.cursor === undefined ? undefined : positiveId(values.cursor, 'cursor') });
    if (values.json) return print(page), 0;
    if (page.deliveries.length === 0) cli.write('No deliveries match.\n');
    else cli.write(`${formatTable(['ID', 'SOURCE', 'DELIVERY', 'RECEIVED', 'OUTCOME', 'JOB', 'TRIES', 'ERROR'], page.deliveries.map((d) => [d.id, d.source, d.deliveryId, d.receivedAt, d.outcome, d.job?.id, d.job?.attempts, d.job?.lastError]))}\n`);
    if (page.next !== null) cli.write(`More: --cursor ${page.next}\n`);
    return 0;
  }

  if (command === 'replay') {
    const { values, positionals } = parse(args, {} as Options);
    if (positionals.length !== 1) throw usage('replay takes one delivery id: deckhand replay <id> (see deckhand deliveries).');
    const result = await replayDelivery(ctx, actor, positiveId(positionals[0], 'delivery'));
    if (values.json) return print(result), 0;
    cli.write(`Delivery #${result.delivery.id} (${result.delivery.source} ${result.delivery.deliveryId}) is queued again as job #${result.job.id}; the running bot processes it.\n`);
    return 0;
  }

  if (command === 'jobs') {
    const { values, positionals } = parse(args, { dead: { type: 'boolean' }, state: { type: 'string' }, type: { type: 'string' }, limit: { type: 'string' } });
    if (positionals.length > 0) throw usage(`Unexpected "${positionals.join(' ')}".`);
    const state: JobState | undefined = values.dead ? 'dead' : oneOf('state', values.state, jobStates);
    const jobs = await listJobs(ctx, actor, { state, type: values.type, limit: limitOf(values.limit) ?? 20 });
    if (values.json) return print({ jobs }), 0;
    if (jobs.length === 0) cli.write('No jobs match.\n');
    else cli.write(`${formatTable(['ID', 'TYPE', 'STATE', 'TRIES', 'RUN AT', 'FINISHED', 'ERROR'], jobs.map((j) => [j.id, j.type, j.state, `${j.attempts}/${j.maxAttempts}`, j.runAt, j.finishedAt, j.lastError]))}\n`);
    return 0;
  }

  if (command === 'retry') {
    const { values, positionals } = parse(args, {} as Options);
    if (positionals.length !== 1) throw usage('retry takes one job id: deckhand retry <id> (see deckhand jobs --dead).');
    const job = await retryJob(ctx, actor, positiveId(positionals[0], 'job'));
    if (values.json) return print({ job }), 0;
    cli.write(`Job #${job.id} (${job.type}) is pending again, for one more attempt; the running bot takes it.\n`);
    return 0;
  }

  const { values, positionals } = parse(args, { actor: { type: 'string' }, action: { type: 'string' }, app: { type: 'string' }, environment: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' } });
  if (positionals.length > 0) throw usage(`Unexpected "${positionals.join(' ')}".`);
  const records = await listAudit(ctx, actor, {
    actor: values.actor,
    action: values.action,
    app: values.app,
    environment: values.environment,
    since: instantOf('since', values.since, now),
    until: instantOf('until', values.until, now),
    limit: limitOf(values.limit) ?? 20,
  });
  if (values.json) return print({ records }), 0;
  if (records.length === 0) cli.write('No audit records match.\n');
  else cli.write(`${formatTable(['AT', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'DETAILS'], records.map((r) => [r.at, r.actor, r.action, r.target, r.outcome, JSON.stringify(r.details)]))}\n`);
  return 0;
}
