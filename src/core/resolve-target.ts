import { closest, distance } from 'fastest-levenshtein';
import type { AppConfig, DeckhandConfig } from '../config/types.js';
import { DeckhandError, ErrorCode } from './errors.js';

function suggestion(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const best = closest(word, candidates as string[]);
  return distance(word, best) <= Math.max(1, Math.floor(best.length / 3)) ? ` Did you mean ${best}?` : '';
}

export function resolveApp(config: DeckhandConfig, name: string): AppConfig {
  const app = Object.hasOwn(config.apps, name) ? config.apps[name] : undefined;
  if (!app) {
    const known = Object.keys(config.apps);
    throw new DeckhandError(ErrorCode.UnknownApp, `I don't know an app called "${name}".${suggestion(name, known)} Known apps: ${known.join(', ')}.`, {
      app: name,
      known,
    });
  }
  return app;
}

/** The canonical name of an environment or alias; null when unknown. */
export function canonicalEnvironment(config: DeckhandConfig, nameOrAlias: string): string | null {
  if (Object.hasOwn(config.environments, nameOrAlias)) return nameOrAlias;
  const owner = Object.values(config.environments).find((env) => env.aliases.includes(nameOrAlias));
  return owner ? owner.name : null;
}

/** An environment name for commands that are not about one app (lock, unlock). */
export function resolveEnvironment(config: DeckhandConfig, nameOrAlias: string): string {
  const env = canonicalEnvironment(config, nameOrAlias);
  if (env === null) {
    const known = Object.keys(config.environments);
    throw new DeckhandError(
      ErrorCode.UnknownEnvironment,
      `There is no environment called "${nameOrAlias}".${suggestion(nameOrAlias, known)} Environments: ${known.join(', ')}.`,
      { environment: nameOrAlias, known },
    );
  }
  return env;
}

/** The environment to deploy `app` to: the one asked for (or its alias), else the app's default. */
export function resolveAppEnvironment(config: DeckhandConfig, app: AppConfig, requested: string | undefined): string {
  if (requested === undefined) {
    const fallback = app.defaultEnvironment ?? (app.environments.length === 1 ? app.environments[0] : undefined);
    if (fallback === undefined) {
      throw new DeckhandError(ErrorCode.Usage, `Say where to deploy ${app.name}: ${app.environments.map((e) => `"to ${e}"`).join(' or ')}.`, {
        app: app.name,
        environments: app.environments,
      });
    }
    return fallback;
  }
  const env = canonicalEnvironment(config, requested);
  if (env === null || !app.environments.includes(env)) {
    throw new DeckhandError(
      ErrorCode.UnknownEnvironment,
      `${app.name} can't be deployed to "${requested}".${suggestion(requested, app.environments)} Its environments: ${app.environments.join(', ')}.`,
      { app: app.name, environment: requested, known: app.environments },
    );
  }
  return env;
}
