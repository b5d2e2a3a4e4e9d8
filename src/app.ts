import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expireApprovals } from './actions/approve.js';
import { bindActions, type Actions } from './actions/index.js';
import type { ActionContext } from './actions/context.js';
import type { DeckhandConfig } from './config/types.js';
import { systemClock, type Clock } from './core/clock.js';
import { EventBus } from './core/events.js';
import type { Logger } from './core/logger.js';
import { registerDeploymentLogRoute } from './http/deployment-log-route.js';
import { createHttpServer } from './http/server.js';
import { DeploymentRunner } from './jobs/deployment-runner.js';
import { ScriptProvider } from './providers/script/script-provider.js';
import { createDispatcher, type Dispatcher } from './router/dispatch.js';
import { loadCommands } from './router/load-commands.js';
import { createRouter } from './router/router.js';
import type { Store } from './store/types.js';

/** The repository root, from src/ (tests) or dist/src/ (the built bot). */
export const projectRoot = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..');
})();

export interface DeckhandOptions {
  config: DeckhandConfig;
  store: Store;
  logger: Logger;
  dataDir: string;
  clock?: Clock;
  /** Directory of command files; default <root>/commands (or dist/commands when built). */
  commandsDir?: string;
}

export interface Deckhand {
  actions: Actions;
  bus: EventBus;
  dispatcher: Dispatcher;
  runner: DeploymentRunner;
  http: ReturnType<typeof createHttpServer>;
  /**
   * Stops the HTTP server and running deployments, then `beforeStoreClose` (adapters flushing
   * their last notices), then closes the store.
   */
  close(beforeStoreClose?: () => Promise<void>): Promise<void>;
}

/** Composition root: wires config, store, events, providers, actions, router and HTTP. */
export async function createDeckhand(options: DeckhandOptions): Promise<Deckhand> {
  const clock = options.clock ?? systemClock;
  const { config, store, logger } = options;
  const bus = new EventBus(store, clock, logger);
  const providers = { script: new ScriptProvider({ dataDir: options.dataDir, secrets: config.secrets }) };
  const runner = new DeploymentRunner({ config, store, bus, clock, logger, providers });
  const ctx: ActionContext = { config, store, bus, clock, logger, providers, queue: runner };
  const actions = bindActions(ctx);

  const builtCommands = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'commands');
  const commands = await loadCommands(options.commandsDir ?? builtCommands);
  const router = createRouter(commands);
  const dispatcher = createDispatcher({ router, actions, config, clock, logger });

  // Approval requests that run out of time cancel their deployment.
  const expiry = setInterval(() => {
    expireApprovals(ctx).catch((err) => logger.error({ err }, 'approval expiry failed'));
  }, 15_000);
  expiry.unref();

  let closing = false;
  const http = createHttpServer({
    logger,
    readiness: async () => {
      let storeOk = true;
      await store.ping().catch(() => (storeOk = false));
      return { store: storeOk, accepting: !closing };
    },
  });

  registerDeploymentLogRoute(http, store);

  return {
    actions,
    bus,
    dispatcher,
    runner,
    http,
    async close(beforeStoreClose) {
      closing = true;
      clearInterval(expiry);
      await http.close();
      await runner.stop();
      await beforeStoreClose?.();
      await store.close();
    },
  };
}
