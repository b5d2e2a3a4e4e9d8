import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { substituteReferences } from '../config/substitute.js';
import { explainIssues } from '../config/explain-issue.js';
import { formatPath, parseYamlWithPositions, positionOf } from '../config/yaml-errors.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { nodeCron } from '../core/lazy-module.js';
import { reactionFileSchema, type ReactionFile } from './schema.js';
import { createTemplateEngine } from './template.js';

export interface Reaction extends Omit<ReactionFile, 'name'> {
  name: string;
  file: string;
  kind: 'event' | 'webhook' | 'schedule';
  /** Values from ${secret.X}, for redaction. */
  secrets: string[];
}

export interface DisabledReaction {
  name: string;
  file: string;
  reason: string;
}

export interface LoadedReactions {
  reactions: Reaction[];
  disabled: DisabledReaction[];
  /** Allowed but worth a look, e.g. an event trigger with no filter. */
  warnings: string[];
}

const templates = createTemplateEngine();

/** Every string under `value` with its path, for template checks. */
function strings(value: unknown, at: PropertyKey[] = []): Array<[PropertyKey[], string]> {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, [...at, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, [...at, k]));
  return [];
}

/**
 * Parses one reaction file. Problems come back as "file:line:col: path: message" lines; a
 * reaction whose `requires` are not all set comes back disabled instead.
 */
export function parseReaction(text: string, file: string, env: NodeJS.ProcessEnv, baseDir: string): { reaction?: Reaction; disabled?: DisabledReaction; problems: string[]; warnings: string[] } {
  const display = path.relative(process.cwd(), file) || file;
  const fallbackName = path.basename(file).replace(/\.ya?ml$/, '');
  const yaml = parseYamlWithPositions(text);
  if (!yaml.ok) return { problems: yaml.problems.map((p) => `${display}:${p.line}:${p.col}: ${p.message}`), warnings: [] };
  const at = (p: readonly PropertyKey[]) => {
    const pos = positionOf(yaml.parsed, p);
    return `${display}:${pos.line}:${pos.col}: ${formatPath(p) || '(top level)'}`;
  };

  const raw = (yaml.parsed.value ?? {}) as { name?: unknown; requires?: unknown };
  const name = typeof raw.name === 'string' ? raw.name : fallbackName;
  const requires = Array.isArray(raw.requires) ? raw.requires.filter((r): r is string => typeof r === 'string') : [];
  const missing = requires.filter((v) => !env[v]);
  if (missing.length > 0) return { disabled: { name, file, reason: `set ${missing.join(', ')} to turn it on` }, problems: [], warnings: [] };

  // Credentials come from the environment (or DECKHAND_SECRETS_FILE), never from the YAML itself.
  const on = (raw as { on?: { auth?: { api_key?: unknown; hmac?: { secret?: unknown } } } }).on;
  const literal: Array<[PropertyKey[], unknown]> = [
    [['on', 'auth', 'api_key'], on?.auth?.api_key],
    [['on', 'auth', 'hmac', 'secret'], on?.auth?.hmac?.secret],
  ];
  const literalProblems = literal
    .filter(([, value]) => typeof value === 'string' && !/^\$\{secret\.[A-Za-z_][A-Za-z0-9_]*\}$/.test(value))
    .map(([where]) => `${at(where)}: write the key as \${secret.NAME} and set NAME in the environment or DECKHAND_SECRETS_FILE; keys never live in the YAML`);
  if (literalProblems.length > 0) return { problems: literalProblems, warnings: [] };

  const substituted = substituteReferences(yaml.parsed.value ?? {}, env);
  if (substituted.problems.length > 0) return { problems: substituted.problems.map((p) => `${at(p.path)}: ${p.message}`), warnings: [] };
  const parsed = reactionFileSchema.safeParse(substituted.value);
  if (!parsed.success) return { problems: explainIssues(parsed.error.issues, substituted.value, reactionFileSchema).map((i) => `${at(i.path)}: ${i.message}`), warnings: [] };

  const data = parsed.data;
  const problems: string[] = [];
  const warnings: string[] = [];
  const kind: Reaction['kind'] = 'event' in data.on ? 'event' : 'webhook' in data.on ? 'webhook' : 'schedule';

  if (data.once_per_window !== undefined && data.once_per === undefined) {
    problems.push(`${at(['once_per_window'])}: once_per_window needs once_per (the key it applies to)`);
  }
  if (kind === 'webhook') {
    data.do.forEach((action, i) => {
      if ('http' in action) {
        problems.push(`${at(['do', i, 'http'])}: a webhook cannot trigger an outgoing HTTP request: Deckhand is not a pass-through HTTP broker. Send the webhook to its destination directly, or react to an internal event (deployment.*, release.created) instead.`);
      }
    });
  }
  if (kind === 'event' && !('where' in data.on && data.on.where)) {
    warnings.push(`${at(['on'])}: no "where:" filter, so "${name}" runs for every ${[data.on && 'event' in data.on ? data.on.event : []].flat().join(' / ')} of every app`);
  }
  if ('schedule' in data.on && !nodeCron().validate(data.on.schedule)) {
    problems.push(`${at(['on', 'schedule'])}: "${data.on.schedule}" is not a cron expression ([second] minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5", or "*/30 * * * * *" for every 30 seconds)`);
  }
  // Templates are checked now, not when the first event arrives.
  for (const [where, value] of [...strings(data.do, ['do']), ...(data.once_per ? [[['once_per'], data.once_per] as [PropertyKey[], string]] : [])]) {
    const problem = templates.check(value);
    if (problem) problems.push(`${at(where)}: ${problem}`);
  }
  data.do.forEach((action, i) => {
    if ('chat' in action && 'teams' in action.chat && action.chat.teams !== undefined && !env.TEAMS_APP_ID) {
      warnings.push(`${at(['do', i, 'chat', 'teams'])}: Teams is not configured here (TEAMS_APP_ID is not set), so this step fails when it runs`);
    }
    if ('script' in action) {
      const script = typeof action.script === 'string' ? action.script : action.script.path;
      if (!existsSync(path.resolve(baseDir, script))) problems.push(`${at(['do', i, 'script'])}: script ${script} does not exist (looked in ${baseDir})`);
    }
  });
  if (problems.length > 0) return { problems, warnings };
  return { reaction: { ...data, name, file, kind, secrets: substituted.secrets }, problems: [], warnings };
}

/** Loads every *.yaml in `dir`. All problems of all files are reported together; any problem stops start-up. */
export function loadReactions(dir: string, env: NodeJS.ProcessEnv = process.env): LoadedReactions {
  if (!existsSync(dir)) return { reactions: [], disabled: [], warnings: [] };
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const baseDir = path.dirname(path.resolve(dir));
  const out: LoadedReactions = { reactions: [], disabled: [], warnings: [] };
  const problems: string[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    const result = parseReaction(readFileSync(file, 'utf8'), file, env, baseDir);
    problems.push(...result.problems);
    out.warnings.push(...result.warnings);
    if (result.disabled) out.disabled.push(result.disabled);
    if (result.reaction) out.reactions.push(result.reaction);
  }
  const seen = new Map<string, string>();
  for (const r of out.reactions) {
    const key = r.name;
    if (seen.has(key)) problems.push(`${r.file}: the name "${key}" is also used by ${seen.get(key)}; names must be unique`);
    seen.set(key, r.file);
    if ('webhook' in r.on) {
      const hook = `webhook:${r.on.webhook}`;
      if (seen.has(hook)) problems.push(`${r.file}: /triggers/${r.on.webhook} is also served by ${seen.get(hook)}`);
      seen.set(hook, r.file);
    }
  }
  if (problems.length > 0) throw new DeckhandError(ErrorCode.ConfigInvalid, `Invalid reactions:\n  ${problems.join('\n  ')}`, { problems });
  return out;
}
