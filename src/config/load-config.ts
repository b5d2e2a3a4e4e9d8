import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { explainIssues } from './explain-issue.js';
import { configFileSchema, teamsConversationId } from './schema.js';
import { substituteReferences } from './substitute.js';
import { formatPath, parseYamlWithPositions, positionOf } from './yaml-errors.js';
import type { AppConfig, DeckhandConfig, EnvironmentConfig, ProviderConfig, RoleConfig } from './types.js';

export interface LoadConfigOptions {
  /** DECKHAND_CONFIG, when the user set it. */
  configPath?: string | undefined;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Used when configPath is not set and ./deckhand.yaml does not exist. */
  fallbackPath?: string;
}

/** Finds the config file: DECKHAND_CONFIG, else ./deckhand.yaml, else the bundled example. */
export function resolveConfigPath(options: LoadConfigOptions): string {
  const cwd = options.cwd ?? process.cwd();
  if (options.configPath) {
    const explicit = path.resolve(cwd, options.configPath);
    if (!existsSync(explicit)) {
      throw new DeckhandError(ErrorCode.ConfigInvalid, `DECKHAND_CONFIG points to ${explicit}, which does not exist. Create it (see deckhand.example.yaml) or unset DECKHAND_CONFIG.`);
    }
    return explicit;
  }
  const local = path.resolve(cwd, 'deckhand.yaml');
  if (existsSync(local)) return local;
  if (options.fallbackPath && existsSync(options.fallbackPath)) return options.fallbackPath;
  throw new DeckhandError(ErrorCode.ConfigInvalid, `No config file: create ${local} (copy deckhand.example.yaml) or set DECKHAND_CONFIG.`);
}

export function loadConfig(options: LoadConfigOptions = {}): DeckhandConfig {
  const file = resolveConfigPath(options);
  return parseConfig(readFileSync(file, 'utf8'), file, options.env ?? process.env);
}

/** Parses and validates config text; every problem names file:line:col and how to fix it. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): DeckhandConfig {
  const display = path.relative(process.cwd(), file) || file;
  const fail = (problems: string[]): never => {
    throw new DeckhandError(ErrorCode.ConfigInvalid, `Invalid config ${display}:\n  ${problems.join('\n  ')}`, { file });
  };

  const yaml = parseYamlWithPositions(text);
  if (!yaml.ok) return fail(yaml.problems.map((p) => `${display}:${p.line}:${p.col}: ${p.message}`));
  const parsed = yaml.parsed;
  const at = (p: readonly PropertyKey[]) => {
    const pos = positionOf(parsed, p);
    return `${display}:${pos.line}:${pos.col}`;
  };

  const substituted = substituteReferences(parsed.value ?? {}, env);
  if (substituted.problems.length > 0) {
    return fail(substituted.problems.map((p) => `${at(p.path)}: ${formatPath(p.path)}: ${p.message}`));
  }

  const result = configFileSchema.safeParse(substituted.value);
  if (!result.success) {
    return fail(explainIssues(result.error.issues, substituted.value, configFileSchema).map((issue) => `${at(issue.path)}: ${formatPath(issue.path) || '(top level)'}: ${issue.message}`));
  }

  const dir = path.dirname(file);
  const problems: string[] = [];
  const warnings: string[] = [];
  const script = (relative: string, where: PropertyKey[]): string => {
    const absolute = path.resolve(dir, relative);
    if (!existsSync(absolute)) problems.push(`${at(where)}: ${formatPath(where)}: script ${relative} does not exist (looked for ${absolute})`);
    return absolute;
  };

  const data = result.data;
  const environments: Record<string, EnvironmentConfig> = {};
  for (const [name, def] of Object.entries(data.environments)) {
    environments[name] = {
      name,
      aliases: def.aliases,
      protected: def.protected,
      approvers: def.approvers,
      approvalTimeoutMs: def.approval_timeout,
      selfApproval: def.self_approval,
    };
  }
  const apps: Record<string, AppConfig> = {};
  for (const [name, def] of Object.entries(data.apps)) {
    const where = ['apps', name, 'provider'];
    const shared = {
      checks: def.provider.checks.map((c, i) => script(c, [...where, 'checks', i])),
      checkTimeoutMs: def.provider.check_timeout,
      env: def.provider.env,
    };
    const octopus = def.provider.octopus;
    const provider: ProviderConfig = octopus
      ? {
          kind: 'octopus',
          project: octopus.project,
          space: octopus.space,
          channel: octopus.channel,
          tenant: octopus.tenant,
          environments: octopus.environments,
          timeoutMs: def.provider.timeout ?? 3_600_000,
          pollMs: octopus.poll,
          ...shared,
        }
      : { kind: 'script', script: script(def.provider.script ?? '', [...where, 'script']), timeoutMs: def.provider.timeout ?? 600_000, ...shared };
    const notifyAt = where.slice(0, -1).concat('notify');
    if (typeof def.notify === 'string' && teamsConversationId.safeParse(def.notify).success) {
      // The plain string form has always meant Slack: a Teams id there would be sent to Slack.
      problems.push(`${at(notifyAt)}: ${formatPath(notifyAt)}: "${def.notify}" is a Teams conversation id, and a plain notify: names a Slack channel; write notify: { teams: "${def.notify}" }`);
    }
    const teamsTarget = typeof def.notify === 'string' ? undefined : def.notify?.teams;
    if (teamsTarget && !env.TEAMS_APP_ID) {
      warnings.push(`${at([...notifyAt, 'teams'])}: ${formatPath([...notifyAt, 'teams'])}: Teams is not configured here (TEAMS_APP_ID is not set), so this app's notices reach no Teams conversation`);
    }
    apps[name] = {
      name,
      description: def.description,
      repository: def.repository,
      provider,
      environments: def.environments,
      defaultRef: def.default.ref ?? (octopus ? 'latest' : 'main'),
      defaultEnvironment: def.default.environment,
      notify: typeof def.notify === 'string' ? def.notify : def.notify?.slack,
      notifyTeams: typeof def.notify === 'string' ? undefined : def.notify?.teams,
      rooms: def.rooms,
      urls: def.urls,
      autoDeploy: def.auto_deploy.map((r) => ({ branch: r.branch, environment: r.environment, requiredContexts: r.required_contexts })),
      github: { runDeployments: def.github.run_deployments },
    };
  }
  if (data.oncall.teams && !env.TEAMS_APP_ID) {
    warnings.push(`${at(['oncall', 'teams'])}: oncall.teams: Teams is not configured here (TEAMS_APP_ID is not set), so incidents reach no Teams conversation`);
  }
  if (problems.length > 0) fail(problems);
  const roles: Record<string, RoleConfig> = {};
  for (const [name, def] of Object.entries(data.roles)) roles[name] = { name, members: def.members, may: def.may };

  return deepFreeze({
    file,
    bot: { name: data.bot.name, prefix: data.bot.prefix },
    locks: { holderMayDeploy: data.locks.holder_may_deploy },
    environments,
    apps,
    roles,
    oncall: { channel: data.oncall.channel, teams: data.oncall.teams, users: data.oncall.users },
    secrets: substituted.secrets,
    warnings,
  });
}


function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
