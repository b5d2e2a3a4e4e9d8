import type { ActionContext, DeploymentQueue } from '../actions/context.js';
import { asDeckhandError } from '../core/errors.js';
import { blockingLock, describeLock } from '../core/locks.js';
import { isMirrored, type Deployment, type DeploymentOutcome } from '../core/model.js';

type RunnerContext = Omit<ActionContext, 'queue'>;

/**
 * Runs queued deployments, one at a time per (app, environment). The store decides who runs
 * (claimNextDeployment is atomic), so two deployments of one target never overlap.
 */
export class DeploymentRunner implements DeploymentQueue {
  private readonly active = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly controllers = new Set<AbortController>();

  constructor(private readonly ctx: RunnerContext) {}

  kick(app: string, environment: string): void {
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

  /** Stops running deployments (they are recorded as cancelled) and waits for them. */
  async stop(): Promise<void> {
    for (const controller of this.controllers) controller.abort();
    await this.idle();
  }

  /**
   * On start: a deployment still `running` was interrupted when the last process stopped (one
   * process per store for now), so it is recorded as failed; queued ones are started.
   */
  async recover(): Promise<void> {
    const stale = (await this.ctx.store.listDeployments({ states: ['running'], limit: 100 })).filter((d) => !isMirrored(d));
    for (const deployment of stale) {
      await this.finish(deployment, { state: 'failed', reason: 'interrupted: Deckhand stopped while it was running' });
    }
    const queued = (await this.ctx.store.listDeployments({ states: ['queued'], limit: 100 })).filter((d) => !isMirrored(d));
    for (const d of queued) this.kick(d.app, d.environment);
  }

  private async drain(app: string, environment: string): Promise<void> {
    for (;;) {
      const deployment = await this.ctx.store.claimNextDeployment(app, environment, this.ctx.clock.now().toISOString());
      if (!deployment) return;
      await this.run(deployment);
    }
  }

  private async run(deployment: Deployment): Promise<void> {
    const { ctx } = this;
    // A lock taken while this deployment waited in the queue still stops it.
    const lock = blockingLock(await ctx.store.locksFor(deployment.environment, deployment.app), deployment.requestedBy, ctx.config.locks.holderMayDeploy);
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
    await ctx.bus.emit('deployment.started', { deployment });
    const controller = new AbortController();
    this.controllers.add(controller);
    // The whole output is kept for the log URL; writes are chained so lines stay in order.
    let seq = 0;
    let logged = Promise.resolve();
    const keep = (line: string, stream: 'stdout' | 'stderr') => {
      const entry = { seq: ++seq, stream, line, at: ctx.clock.now().toISOString() };
      logged = logged.then(() => ctx.store.appendLog(deployment.id, [entry])).catch((err) => ctx.logger.error({ err, deploymentId: deployment.id }, 'could not store a log line'));
    };
    try {
      const result = await provider.deploy(app, deployment, {
        onLine: (line, stream) => {
          keep(line, stream);
          ctx.bus.output(deployment, line, stream);
        },
        signal: controller.signal,
        link: async (external) => void (await ctx.store.linkExternal(deployment.id, external)),
      });
      await logged;
      const aborted = controller.signal.aborted;
      await this.finish(deployment, {
        state: result.ok ? 'succeeded' : aborted || result.cancelled ? 'cancelled' : 'failed',
        exitCode: result.exitCode,
        // A provider may say more about being stopped (Octopus: the task goes on there).
        reason: aborted ? `cancelled: Deckhand is shutting down${result.reason && result.reason !== 'cancelled' ? ` (${result.reason})` : ''}` : result.reason,
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
    const finished = await this.ctx.store.finishDeployment(deployment.id, { ...outcome, finishedAt: this.ctx.clock.now().toISOString() });
    const type = finished.state === 'succeeded' ? 'deployment.succeeded' : finished.state === 'cancelled' ? 'deployment.cancelled' : 'deployment.failed';
    await this.ctx.bus.emit(type, { deployment: finished });
  }
}
