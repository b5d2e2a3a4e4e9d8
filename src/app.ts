import type { Job } from './core/model.js';
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
import { registerMetricsRoute } from './http/metrics-route.js';
import { observeHttp } from './metrics/http.js';
import { DeckhandMetrics } from './metrics/metrics.js';
import { createHttpServer } from './http/server.js';
import { ListenerPressure } from './http/listener-pressure.js';
import { createOctokit, type GitHubOptions } from './github/octokit.js';
import { GitHubTracker } from './github/tracker.js';
import { createGitHubDeliveryHandler, githubEventNeedsJob } from './github/handle-github-delivery.js';
import { deliveryInbox } from './store/delivery-inbox.js';
import { GitHubStatusReporter } from './github/status-reporter.js';
import { registerApiV1 } from './http/api-v1.js';
import { registerConsole } from './console/register-console.js';
import { consoleSecret } from './console/session.js';
import type { SlackOidcOptions } from './console/slack-oidc.js';
import type { DisabledReaction } from './reactions/load-reactions.js';
import { revokeDeadApiTokens } from './http/api-tokens.js';
import { registerGitHubWebhookRoute } from './http/github-webhook-route.js';
import { registerTriggerRoute } from './http/trigger-route.js';
import type { ChatPort } from './chat/chat-port.js';
import { JobWorker, type JobHandler } from './jobs/job-worker.js';
import { ReactionEngine } from './reactions/engine.js';
import type { Reaction } from './reactions/load-reactions.js';
import { Scheduler } from './reactions/scheduler.js';
import { DeploymentRunner } from './jobs/deployment-runner.js';
import { Heartbeat, describeThisProcess } from './jobs/heartbeat.js';
import { Pruner } from './jobs/pruner.js';
import { defaultRetention, type Retention } from './config/retention.js';
import { ScriptProvider } from './providers/script/script-provider.js';
import { createOctopusDeliveryHandler } from './providers/octopus/octopus-events.js';
import { OctopusProvider } from './providers/octopus/octopus-provider.js';
import { registerOctopusWebhookRoute } from './http/octopus-webhook-route.js';
import { registerVictorOpsWebhookRoute } from './http/victorops-webhook-route.js';
import { createVictorOpsDeliveryHandler } from './oncall/incident-events.js';
import { OnCallClient } from './oncall/oncall-client.js';
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
  /** Reactions, already loaded (see loadReactions). */
  reactions?: readonly Reaction[];
  /** Folder that reaction scripts are relative to. */
  reactionsBaseDir?: string;
  /** How often the job worker looks for due jobs when idle. */
  jobPollMs?: number;
  /** Job lease (DECKHAND_JOB_LEASE). */
  jobLeaseMs?: number;
  /** How long this process counts as alive without a heartbeat (DECKHAND_HEARTBEAT); one is sent every third of it. */
  heartbeatMs?: number;
  /** How long stored history is kept (DECKHAND_RETENTION); default its defaults. */
  retention?: Retention;
  /** Deckhand's public base URL (for log links in notices and GitHub statuses). */
  publicUrl?: () => string;
  /** GitHub: the webhook secret enables POST /webhooks/github; the auth (token or App) lets Deckhand create deployments. */
  github?: GitHubOptions;
  /** Octopus Deploy: the server and key for `provider: { octopus: ... }` apps; the webhook secret enables POST /webhooks/octopus. */
  octopus?: { url: string; apiKey: string; space: string; webhookSecret?: string | undefined; webhookHeader: string } | undefined;
  /** Splunk On-Call: the public API (id and key) and the escalation webhook (URL as configured there, and its key). */
  oncall?: { apiUrl: string; apiId?: string | undefined; apiKey?: string | undefined; webhookUrl?: string | undefined; webhookKey?: string | undefined } | undefined;
  /** DECKHAND_METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken?: string | undefined;
  /** The web console at /console: DECKHAND_CONSOLE_SECRET, "Sign in with Slack" (SLACK_CLIENT_ID/SECRET), the reactions that are off and why. */
  console?: { secret?: string | undefined; slack?: SlackOidcOptions | undefined; disabledReactions?: readonly DisabledReaction[] } | undefined;
}

export interface Deckhand {
  actions: Actions;
  bus: EventBus;
  dispatcher: Dispatcher;
  runner: DeploymentRunner;
  http: ReturnType<typeof createHttpServer>;
  worker: JobWorker;
  scheduler: Scheduler;
  reactions: ReactionEngine;
  /** The chat the reactions' chat actions use (set by the adapter that runs). */
  setChat(port: ChatPort): void;
  /** This process's heartbeat (its instance id is the owner of what it runs). */
  heartbeat: Heartbeat;
  /** This instance's Prometheus metrics (GET /metrics); the Slack adapter counts its API calls here. */
  metrics: DeckhandMetrics;
  /** Deletes stored history older than the retention (started by startBackground). */
  pruner: Pruner;
  /** Starts the job worker, schedules, periodic recovery (after the first recovery) and retention, once the adapter is up. */
  startBackground(): void;
  /**
   * Stops the HTTP server and running deployments at once (they are recorded as cancelled), waits
   * for running jobs, then `beforeStoreClose` (adapters flushing their last notices), marks the
   * instance stopped and closes the store.
   */
  close(beforeStoreClose?: () => Promise<void>): Promise<void>;
  /**
   * The graceful stop (SIGTERM, rolling restarts): /readyz answers 503 at once; nothing new is
   * claimed or started here; running deployments and jobs get `graceMs` to finish. Then deployments
   * still running have their script stopped (recorded as cancelled, saying so), unfinished jobs are
   * handed back for another process to take at once, the instance is marked stopped and the store
   * closed.
   */
  shutdown(graceMs: number, beforeStoreClose?: () => Promise<void>): Promise<{ stoppedDeployments: number; handedBackJobs: number }>;
}

/** The job types this process's worker runs (the metrics' `type` label values); the handlers below must match it. */
const jobTypes = ['delivery', 'reaction', 'tick', 'github', 'github-status', 'octopus', 'victorops'] as const;

/** Composition root: wires config, store, events, providers, actions, router and HTTP. */
export async function createDeckhand(options: DeckhandOptions): Promise<Deckhand> {
  const clock = options.clock ?? systemClock;
  const { config, store, logger } = options;
  const bus = new EventBus(store, clock, logger);
  // One registry per instance (tests run several in one process); labels come from the config and the code only.
  const metrics = new DeckhandMetrics({ apps: Object.keys(config.apps), environments: Object.keys(config.environments), jobTypes, now: () => clock.now() });
  metrics.watchJobs((now) => store.jobStats(now));
  bus.subscribe(metrics.onEvent);
  const script = new ScriptProvider({ dataDir: options.dataDir, secrets: config.secrets });
  // Loaded only when Octopus is configured (it brings undici, ~0.1 s of a start).
  const OctopusClient = options.octopus ? (await import('./providers/octopus/octopus-client.js')).OctopusClient : null;
  const octopusClient = options.octopus && OctopusClient
    ? new OctopusClient({ url: options.octopus.url, apiKey: options.octopus.apiKey, defaultSpace: options.octopus.space, onRequest: (route, status) => metrics.onApiRequest('octopus', route, status) })
    : null;
  const providers = {
    script,
    // Pre-deploy check scripts run the same way whatever deploys the app.
    octopus: new OctopusProvider({ client: octopusClient, checks: (app, request) => script.check(app, request) }),
  };
  // Registered before anything can be claimed: every deployment and job this process takes is owned by it.
  const instance = describeThisProcess(clock);
  const heartbeat = new Heartbeat({ store, clock, logger, instance, ...(options.heartbeatMs !== undefined ? { expiryMs: options.heartbeatMs } : {}) });
  await heartbeat.start();
  const runner = new DeploymentRunner({ config, store, bus, clock, logger, providers }, { instance });
  const octokit = options.github?.auth ? createOctokit({ auth: options.github.auth, apiUrl: options.github.apiUrl, logger, onRequest: (route, status) => metrics.onApiRequest('github', route, status) }) : null;
  const tracker = octokit ? new GitHubTracker({ octokit, config }) : undefined;
  const oncall = options.oncall?.apiId && options.oncall.apiKey ? new OnCallClient({ apiUrl: options.oncall.apiUrl, apiId: options.oncall.apiId, apiKey: options.oncall.apiKey }) : undefined;
  const ctx: ActionContext = { config, store, bus, clock, logger, providers, queue: runner, tracker, oncall };
  const actions = bindActions(ctx);

  const builtCommands = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'commands');
  const commands = await loadCommands(options.commandsDir ?? builtCommands);
  const router = createRouter(commands);
  const dispatcher = createDispatcher({ router, actions, config, clock, logger, store });

  // Approval requests that run out of time cancel their deployment.
  const expiry = setInterval(() => {
    expireApprovals(ctx).catch((err) => logger.error({ err }, 'approval expiry failed'));
  }, 15_000);
  expiry.unref();

  let closing = false;
  // Set by shutdown: not ready any more (load balancers stop sending), while work in flight finishes.
  let draining = false;
  const http = createHttpServer({
    logger,
    readiness: async () => {
      let storeOk = true;
      await store.ping().catch(() => (storeOk = false));
      return { store: storeOk, accepting: !closing && !draining };
    },
  });

  // Webhooks first, their jobs in the gaps: the worker waits (50 ms at most) while requests are under way.
  const pressure = new ListenerPressure(http.server);
  // Before the other routes: request latency and deliveries are observed on every route, and on 404s.
  observeHttp(http, metrics);
  registerMetricsRoute(http, { metrics, token: options.metricsToken });
  registerDeploymentLogRoute(http, store);

  // Reactions: events and webhook deliveries become durable jobs that the worker runs.
  let chat: ChatPort | null = null;
  // Handlers resolve at run time (the worker only runs after startBackground), so the engine and
  // the GitHub pieces below can be built after the worker that they wake.
  const worker = new JobWorker({
    store,
    clock,
    logger,
    owner: instance.id,
    onFailed: metrics.onJobFailed,
    yieldTo: () => pressure.quiet(50),
    handlers: {
      delivery: (job) => reactionEngine.handleDelivery(job),
      reaction: (job, signal) => reactionEngine.handleRun(job, signal),
      tick: (job, signal) => reactionEngine.handleTick(job, signal),
      github: (job) => handleGitHub(job),
      'github-status': async (job) => statuses?.handle(job),
      octopus: (job) => handleOctopus(job),
      victorops: createVictorOpsDeliveryHandler({ store, bus, clock, logger }),
    } satisfies Record<(typeof jobTypes)[number], JobHandler>,
    ...(options.jobPollMs !== undefined ? { pollMs: options.jobPollMs } : {}),
    ...(options.jobLeaseMs !== undefined ? { leaseMs: options.jobLeaseMs } : {}),
  });
  const wake = () => worker.kick();
  // Deliveries whose job this worker has a free slot for are claimed by their own insert (see DeliveryInbox).
  deliveryInbox(store).runJobsWith(worker);
  const reactionEngine = new ReactionEngine({
    reactions: options.reactions ?? [],
    store,
    clock,
    logger: logger.child({ component: 'reactions' }),
    actions,
    chat: () => chat,
    baseDir: options.reactionsBaseDir ?? projectRoot,
    enqueue: (job): Promise<Job | null> => worker.enqueue(job),
    secrets: config.secrets,
    onActionRun: metrics.onActionRun,
    onStepRerun: metrics.onStepRerun,
    apiUrl: () => {
      // Scripts run on this machine: they call back over loopback, whatever the public URL is.
      const address = http.server.address();
      if (!address || typeof address !== 'object') return null;
      const host = ['0.0.0.0', '::'].includes(address.address) ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
  });
  const handleGitHub: JobHandler = octokit
    ? createGitHubDeliveryHandler({ store, config, actions, octokit, logger, clock, chat: () => chat })
    : async () => logger.warn('a GitHub delivery arrived but neither GITHUB_TOKEN nor a GitHub App is set: nothing can be done with it');
  const statuses = octokit ? new GitHubStatusReporter({ store, config, clock, octokit, publicUrl: () => options.publicUrl?.() ?? null, wake }) : null;
  if (statuses) bus.subscribe(statuses.onEvent);
  const handleOctopus: JobHandler = octopusClient
    ? createOctopusDeliveryHandler({ store, config, actions, bus, client: octopusClient, clock, logger })
    : async () => logger.warn('an Octopus delivery arrived but OCTOPUS_URL / OCTOPUS_API_KEY are not set: nothing can be done with it');
  bus.subscribe(reactionEngine.onEvent);
  const scheduler = new Scheduler({ reactions: options.reactions ?? [], store, clock, logger, wake });
  const pruner = new Pruner({ store, clock, logger: logger.child({ component: 'retention' }), retention: options.retention ?? defaultRetention });
  await revokeDeadApiTokens(store, clock, logger); // tokens of runs a killed process left behind
  await registerApiV1(http, { store, clock, actions, chat: () => chat, config, secrets: () => [...config.secrets, ...(options.reactions ?? []).flatMap((r) => r.secrets)], wake });
  // The web console (/console): its own scope with cookies, forms and CSRF checks; see src/console.
  const consoleUrl = () => options.publicUrl?.() ?? 'http://localhost';
  const consoleContext = { config, store, clock, logger, actions, wake, publicUrl: consoleUrl, slack: options.console?.slack, cookies: { secure: consoleUrl().startsWith('https:') } };
  const reactionsOff = options.console?.disabledReactions ?? [];
  const payloadSecrets = [...config.secrets, ...(options.reactions ?? []).flatMap((r) => r.secrets)];
  await registerConsole(http, { ...consoleContext, reactions: options.reactions ?? [], disabledReactions: reactionsOff, secrets: payloadSecrets }, consoleSecret(options.console?.secret, logger));
  await registerTriggerRoute(http, {
    store,
    clock,
    trigger: (name) => {
      const reaction = reactionEngine.webhook(name);
      return reaction && 'webhook' in reaction.on ? reaction.on : undefined;
    },
    wake,
  });
  if (options.oncall?.webhookUrl && options.oncall.webhookKey) {
    await registerVictorOpsWebhookRoute(http, { store, clock, logger, url: options.oncall.webhookUrl, key: options.oncall.webhookKey, wake });
  }
  if (options.octopus?.webhookSecret) {
    await registerOctopusWebhookRoute(http, { store, clock, logger, header: options.octopus.webhookHeader, secret: options.octopus.webhookSecret, wake });
  }
  if (options.github?.webhookSecret) {
    await registerGitHubWebhookRoute(http, { store, clock, logger, secret: options.github.webhookSecret, wake, actsOn: (event, body) => githubEventNeedsJob(config, event, body) });
  }

  return {
    actions,
    bus,
    dispatcher,
    runner,
    http,
    worker,
    scheduler,
    reactions: reactionEngine,
    heartbeat,
    metrics,
    pruner,
    setChat: (port) => void (chat = port),
    startBackground() {
      worker.start();
      scheduler.start();
      runner.startSweeping(heartbeat.intervalMs);
      pruner.start();
    },
    async close(beforeStoreClose) {
      closing = true;
      clearInterval(expiry);
      await scheduler.stop();
      await pruner.stop();
      await http.close();
      await runner.stop();
      await worker.stop();
      await beforeStoreClose?.();
      await heartbeat.stop();
      await store.close();
    },
    async shutdown(graceMs, beforeStoreClose) {
      draining = true;
      const prunerStopped = pruner.stop(); // a batch under way finishes; no new one starts
      logger.info({ graceMs, deployments: runner.running }, 'shutting down: not ready any more; running deployments and jobs may finish');
      // The HTTP server stays up meanwhile: running reaction scripts call the API, webhooks are still stored.
      const [stoppedDeployments, leftJobs] = await Promise.all([runner.shutdown(graceMs), worker.shutdown(graceMs)]);
      closing = true;
      clearInterval(expiry);
      await scheduler.stop();
      await prunerStopped;
      await http.close();
      await beforeStoreClose?.();
      // Marks the instance stopped and hands back the leases of the jobs left, in one transaction.
      const handedBackJobs = await heartbeat.stop();
      await store.close();
      if (stoppedDeployments > 0 || leftJobs > 0) logger.warn({ stoppedDeployments, handedBackJobs }, 'the grace period ran out: running deployments were stopped, unfinished jobs handed back');
      return { stoppedDeployments, handedBackJobs };
    },
  };
}
