import type { ActionContext, DeploymentQueue } from '../actions/context.js';
import { formatDuration } from '../config/duration.js';
import { asDeckhandError, isDeckhandError, ErrorCode } from '../core/errors.js';
import { blockingLock, describeLock } from '../core/locks.js';
import type { Deployment, DeploymentOutcome } from '../core/model.js';
import { describeProcessGroup, pidScope } from '../providers/script/process-identity.js';
import { isStoreUnavailable } from '../store/store-unavailable.js';
import type { DeploymentProvider, ProviderResult, ProviderRunOptions } from '../providers/types.js';
import type { LocalInstance } from './heartbeat.js';
import { DEADLINE_SLACK_MS, realProcessOps, recoverOnce, type ProcessOps } from './recovery.js';

type RunnerContext = Omit<ActionContext, 'queue'>;

/** After a shutdown's grace period: how long stopped deployments may take to end (a script gets SIGTERM, then SIGKILL after 5 s). */
const STOP_WAIT_MS = 15_000;

/** While the store is unavailable, a claimed deployment's writes are tried again: first after this, doubling up to the cap. */
const STORE_RETRY_FIRST_MS = 250;
const STORE_RETRY_MAX_MS = 5_000;

export interface RunnerOptions {
  /** This process: the owner recorded on every deployment it claims (none: claims have no owner, as in unit tests without a heartbeat). */
  instance?: LocalInstance;
  /** How recovery checks and stops scripts (tests play another machine with it). */
  processes?: ProcessOps;
}

/**
 * Runs queued deployments, one at a time per (app, environment). The store decides who runs
 * (claimNextDeployment is atomic, and holds a target while an interrupted script may still run),
 * so two deployments of one target never overlap — across processes and restarts. Each claimed
 * deployment is owned by this instance; recovery (recovery.ts) handles those of dead instances.
 */
export class DeploymentRunner implements DeploymentQueue {
  private readonly active = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** Each running deployment's controller, and whether another process could follow it again now (Octopus: its task is linked). */
  private readonly controllers = new Map<AbortController, { resumable: () => boolean }>();
  private readonly processes: ProcessOps;
  private draining = false;
  /** Set by shutdown: a deployment whose work goes on without this process (an Octopus task) is handed over, running, not cancelled. */
  private handingOver = false;
  /** Set when a shutdown's grace period ran out: the reason running deployments get. */
  private stopReason: string | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> = Promise.resolve();
  /** Set once this runner gives up on the store (stop, or a shutdown's time is over): writes are not retried any more. */
  private givenUp = false;

  constructor(
    private readonly ctx: RunnerContext,
    private readonly options: RunnerOptions = {},
  ) {
    this.processes = options.processes ?? realProcessOps(pidScope());
  }

  kick(app: string, environment: string): void {
    // A draining process starts nothing; the other processes' recovery kicks the target.
    if (this.draining) return;
    const key = `${app}\u0000${environment}`;
    if (this.active.has(key)) {
      this.again.add(key);
      return;
    }
    const drain = this.drain(app, environment)
      .catch((err) => this.ctx.logger.error({ err, app, environment }, 'deployment queue failed'))
      .finally(() => {
        this.active.delete(key);
        if (this.again.delete(key)) this.kick(app, environment);
      });
    this.active.set(key, drain);
  }

  /** Resolves when nothing is running or waiting in this process. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active.values()]);
  }

  /** How many deployments this process is running now. */
  get running(): number {
    return this.controllers.size;
  }

  /** Stops running deployments at once (they are recorded as cancelled) and waits for them. */
  async stop(): Promise<void> {
    this.stopSweeping();
    this.draining = true;
    this.givenUp = true;
    for (const controller of this.controllers.keys()) controller.abort();
    await this.idle();
  }

  /**
   * A graceful stop: nothing new starts here. A deployment whose work goes on without this process
   * (an Octopus task) is handed over at once: this process stops following it and leaves it running,
   * and once this instance is stopped another Deckhand's recovery adopts it and follows it to its
   * end (or the next one to start does). Other running deployments get `graceMs` to finish; those
   * still running then have their script stopped and are recorded as cancelled, saying why.
   * Resolves how many had to be stopped (handed-over ones do not count).
   */
  async shutdown(graceMs: number): Promise<number> {
    this.stopSweeping();
    this.draining = true;
    this.handingOver = true;
    for (const [controller, run] of this.controllers) if (run.resumable()) controller.abort();
    const finished = await Promise.race([this.idle().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (finished) return 0;
    const stopped = [...this.controllers.values()].filter((run) => !run.resumable()).length;
    this.stopReason = `cancelled: Deckhand shut down and its grace period (${formatDuration(graceMs)}) ran out before this deployment finished; its script was stopped`;
    for (const controller of this.controllers.keys()) controller.abort();
    // Scripts take up to their kill grace to stop. A provider that does not stop in time leaves its
    // deployment running under this instance: once the instance is stopped, recovery takes it over.
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    this.givenUp = true;
    return stopped;
  }

  /** At start: one recovery pass (see recovery.ts), which also starts what is queued. */
  async recover(): Promise<void> {
    await recoverOnce({
      ...this.ctx,
      instanceId: this.options.instance?.id ?? null,
      processes: this.processes,
      finished: async (deployment) => void (await this.ctx.bus.emit('deployment.failed', { deployment })),
      kick: (app, environment) => this.kick(app, environment),
      resume: { can: (deployment) => !this.draining && this.resumerOf(deployment) !== null, start: (deployment) => this.follow(deployment) },
    });
  }

  /** The provider that can follow this deployment again here (its app is still configured), or null. */
  private resumerOf(deployment: Deployment): DeploymentProvider | null {
    const provider = this.ctx.providers[deployment.provider];
    return provider?.resume && provider.canResume?.(deployment) && this.ctx.config.apps[deployment.app] ? provider : null;
  }

  /**
   * Follows a deployment this process adopted from a stopped one (recovery.ts) until it ends, and
   * records its outcome; then the target's queue moves on.
   */
  private follow(deployment: Deployment): void {
    const key = `follow\u0000${deployment.id}`;
    if (this.active.has(key)) return;
    const provider = this.resumerOf(deployment);
    const app = this.ctx.config.apps[deployment.app];
    if (!provider?.resume || !app) return;
    const resume = provider.resume.bind(provider);
    const following = (async () => {
      // Its log goes on after the lines the first owner kept.
      const seq = (await this.persist(deployment, () => this.ctx.store.readLog(deployment.id, 1_000_000))).at(-1)?.seq ?? 0;
      await this.execute(deployment, provider, (options) => resume(app, deployment, options), seq);
    })()
      .catch((err) => this.ctx.logger.error({ err, deploymentId: deployment.id }, 'following an adopted deployment failed'))
      .finally(() => {
        this.active.delete(key);
        this.kick(deployment.app, deployment.environment);
      });
    this.active.set(key, following);
  }

  /** Recovery again every `intervalMs` (the heartbeat interval), until stop or shutdown. */
  startSweeping(intervalMs: number): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      this.sweeping = this.sweeping.then(() => this.recover()).catch((err) => this.ctx.logger.error({ err }, 'recovery failed; trying again at the next heartbeat'));
    }, intervalMs);
    this.sweeper.unref();
  }

  private stopSweeping(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private async drain(app: string, environment: string): Promise<void> {
    while (!this.draining) {
      const now = this.ctx.clock.now();
      const owner = this.options.instance?.id;
      const deployment = await this.ctx.store.claimNextDeployment(app, environment, now.toISOString(), owner === undefined ? undefined : { owner, deadline: this.deadline(app, now) });
      if (!deployment) return;
      await this.run(deployment);
    }
  }

  /** By when a run claimed now must be over: the provider's timeout, the kill grace, some slack. */
  private deadline(app: string, now: Date): string | null {
    const timeoutMs = this.ctx.config.apps[app]?.provider.timeoutMs;
    return timeoutMs === undefined ? null : new Date(now.getTime() + timeoutMs + DEADLINE_SLACK_MS).toISOString();
  }

  private async run(deployment: Deployment): Promise<void> {
    const { ctx } = this;
    // A lock taken while this deployment waited in the queue still stops it.
    const lock = blockingLock(await this.persist(deployment, () => ctx.store.locksFor(deployment.environment, deployment.app)), deployment.requestedBy, ctx.config.locks.holderMayDeploy);
    if (lock) {
      await this.finish(deployment, { state: 'cancelled', reason: `${describeLock(lock, ctx.clock.now())}` });
      return;
    }
    const app = ctx.config.apps[deployment.app];
    const provider = ctx.providers[deployment.provider];
    if (!app || !provider) {
      await this.finish(deployment, { state: 'failed', reason: `app ${deployment.app} or provider ${deployment.provider} is no longer configured` });
      return;
    }
    await this.persist(deployment, () => ctx.bus.emit('deployment.started', { deployment }));
    await this.execute(deployment, provider, (options) => provider.deploy(app, deployment, options), 0);
  }

  /**
   * Runs the provider for a claimed (or adopted) deployment and records its outcome, keeping its
   * output from log line `seq` + 1 on. A deployment stopped by a shutdown whose work goes on
   * without this process (resumable) is left running, for another process to follow again.
   */
  private async execute(deployment: Deployment, provider: DeploymentProvider, start: (options: ProviderRunOptions) => Promise<ProviderResult>, seq: number): Promise<void> {
    const { ctx } = this;
    const controller = new AbortController();
    // The record as the provider linked it (an Octopus deployment and its task), for a hand-over.
    let current = deployment;
    this.controllers.set(controller, { resumable: () => Boolean(provider.resume && provider.canResume?.(current)) });
    // The whole output is kept for the log URL; writes are chained so lines stay in order.
    let logged = Promise.resolve();
    const keep = (line: string, stream: 'stdout' | 'stderr') => {
      const entry = { seq: ++seq, stream, line, at: ctx.clock.now().toISOString() };
      logged = logged.then(() => ctx.store.appendLog(deployment.id, [entry])).catch((err) => ctx.logger.error({ err, deploymentId: deployment.id }, 'could not store a log line'));
    };
    // The script's process group, so a recovery on this machine can stop it if this process dies.
    const owner = this.options.instance?.id;
    const onProcess = (pgid: number) => {
      if (owner === undefined) return;
      logged = logged
        .then(() => ctx.store.recordDeploymentProcess(deployment.id, owner, describeProcessGroup(pgid)))
        .then(() => undefined)
        .catch((err) => ctx.logger.error({ err, deploymentId: deployment.id }, 'could not record the script process group'));
    };
    try {
      const result = await start({
        onLine: (line, stream) => {
          keep(line, stream);
          ctx.bus.output(deployment, line, stream);
        },
        signal: controller.signal,
        link: async (external) => void (current = await ctx.store.linkExternal(deployment.id, external)),
        onProcess,
      });
      await logged;
      const aborted = controller.signal.aborted;
      if (aborted && this.handingOver && result.resumable && provider.canResume?.(current)) {
        ctx.logger.warn(
          { deploymentId: deployment.id, external: current.external },
          `deployment #${deployment.id} is handed over, still running: its ${current.external?.system ?? 'provider'} work goes on, and another Deckhand follows it to its end once this one has stopped`,
        );
        return;
      }
      const extra = result.reason && result.reason !== 'cancelled' ? ` (${result.reason})` : '';
      await this.finish(deployment, {
        state: result.ok ? 'succeeded' : aborted || result.cancelled ? 'cancelled' : 'failed',
        exitCode: result.exitCode,
        // A provider may say more about being stopped (Octopus: the task goes on there).
        reason: aborted ? `${this.stopReason ?? 'cancelled: Deckhand is shutting down'}${extra}` : result.reason,
        logTail: result.logTail,
      });
    } catch (err) {
      const error = asDeckhandError(err);
      ctx.logger.error({ err, deploymentId: deployment.id }, 'deployment provider failed');
      await this.finish(deployment, { state: 'failed', reason: error.message });
    } finally {
      this.controllers.delete(controller);
    }
  }

  private async finish(deployment: Deployment, outcome: Omit<DeploymentOutcome, 'finishedAt'>): Promise<void> {
    let finished: Deployment;
    try {
      const finishedAt = this.ctx.clock.now().toISOString();
      finished = await this.persist(deployment, () => this.ctx.store.finishDeployment(deployment.id, { ...outcome, finishedAt }));
    } catch (err) {
      // Another process counted this one as gone (missed heartbeats) and recovered the deployment
      // first; its record stands, and this outcome goes to the log rather than over it.
      if (!isDeckhandError(err, ErrorCode.Conflict)) throw err;
      this.ctx.logger.warn({ deploymentId: deployment.id, outcome }, `deployment #${deployment.id} was recovered by another Deckhand while this one still ran it; what happened here: ${outcome.state}${outcome.reason ? ` (${outcome.reason})` : ''}`);
      return;
    }
    const type = finished.state === 'succeeded' ? 'deployment.succeeded' : finished.state === 'cancelled' ? 'deployment.cancelled' : 'deployment.failed';
    await this.persist(finished, () => this.ctx.bus.emit(type, { deployment: finished }));
  }

  /**
   * `write` for a deployment this process has claimed, tried again while the store is unavailable
   * (E_STORE_UNAVAILABLE: the database went away), with backoff, until it works or the runner gives
   * up (stop, or the end of a shutdown). Given up, the error propagates: the deployment stays
   * running under this instance, and recovery takes it over once the instance is stopped or lapsed.
   * Without this, an outcome reached while the database was away would be lost and the deployment
   * left running under a live owner, holding its target.
   */
  private async persist<T>(deployment: Deployment, write: () => Promise<T>): Promise<T> {
    for (let waitMs = STORE_RETRY_FIRST_MS; ; waitMs = Math.min(waitMs * 2, STORE_RETRY_MAX_MS)) {
      try {
        return await write();
      } catch (err) {
        if (!isStoreUnavailable(err) || this.givenUp) throw err;
        this.ctx.logger.warn({ err, deploymentId: deployment.id, retryInMs: waitMs }, `the store is unavailable; deployment #${deployment.id}'s record is written when it is back`);
        await new Promise((r) => setTimeout(r, waitMs).unref());
      }
    }
  }
}
