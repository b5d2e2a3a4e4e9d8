import { createRequire } from 'node:module';
import { DeckhandError, ErrorCode } from './errors.js';

/**
 * Modules a start does not need (execa until a script runs, Octokit until the first GitHub request,
 * liquidjs until a template with `{{`/`{%` is parsed, node-cron until a schedule is read) are loaded
 * at their first use instead of with the bot (decision 016). Loading one can then fail long after
 * start (a broken install, a package removed): that use fails with a DeckhandError naming the
 * package and the fix, never with a bare "Cannot find package" or a hang.
 */
function loadFailed(name: string, err: unknown): DeckhandError {
  const message = (err as { message?: unknown } | null)?.message;
  const reason = (typeof message === 'string' ? message : String(err)).split('\n')[0];
  return new DeckhandError(ErrorCode.Internal, `could not load ${name} (${reason}); reinstall Deckhand's dependencies (npm ci)`, { module: name }, { cause: err });
}

/**
 * `() => import(name)` once: every caller until it settles shares one promise (two first uses at once
 * load the module once). A failed load is not kept: the next use tries again.
 */
export function lazyImport<T>(name: string, load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw loadFailed(name, err);
    }));
}

/** For a synchronous first use (template parsing, cron validation): the package's CommonJS entry, required once. */
export function lazyRequire<T>(name: string, from: string = import.meta.url): () => T {
  const require = createRequire(from);
  let loaded: { module: T } | undefined;
  return () => {
    if (loaded) return loaded.module;
    try {
      loaded = { module: require(name) as T };
    } catch (err) {
      throw loadFailed(name, err);
    }
    return loaded.module;
  };
}

/** node-cron, for the first reaction with `on: schedule` (its validation at load, then its timer). */
export const nodeCron = lazyRequire<typeof import('node-cron')>('node-cron');
