import { isDeckhandError } from '../core/errors.js';
import { externalProvider, isMirrored, type Deployment, type ExternalDeployment } from '../core/model.js';
import type { ActionContext } from './context.js';

/** What another system said about one of its deployments. */
export interface ExternalUpdate {
  external: ExternalDeployment;
  app: string;
  environment: string;
  ref: string;
  /** Who started it there, e.g. "github:octocat". */
  requestedBy: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** One line: why it failed, or the other system's description. */
  reason?: string | null;
  logTail?: string | null;
}

export type MirrorResult =
  | { kind: 'own'; deployment: Deployment }
  | { kind: 'mirrored'; deployment: Deployment; emitted: string[] }
  | { kind: 'stale'; deployment: Deployment };

const rank = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 } as const;

/**
 * Follows a deployment that another tool runs (a GitHub Actions workflow, an Octopus task started
 * in Octopus): the first word about it creates a mirrored deployment, each later one moves it
 * forward and emits the same events Deckhand's own deployments do (with the other system as the
 * source), so notices and reactions treat both alike. Updates that arrive late (a "started" after
 * "succeeded") change nothing. A deployment Deckhand itself runs is left alone (kind "own").
 */
export async function mirrorExternal(ctx: ActionContext, update: ExternalUpdate): Promise<MirrorResult> {
  const { system } = update.external;
  let deployment = await ctx.store.findByExternal(system, update.external.id);
  if (deployment && !isMirrored(deployment)) return { kind: 'own', deployment };
  const emitted: string[] = [];
  if (!deployment) {
    try {
      deployment = await ctx.store.createDeployment({
        app: update.app,
        environment: update.environment,
        ref: update.ref,
        provider: externalProvider(system),
        source: 'webhook',
        requestedBy: update.requestedBy,
        external: update.external,
        createdAt: ctx.clock.now().toISOString(),
      });
    } catch (err) {
      // Two updates about one deployment raced; the other one created it.
      if (!isDeckhandError(err, 'E_CONFLICT')) throw err;
      const existing = await ctx.store.findByExternal(system, update.external.id);
      if (!existing) throw err;
      return mirrorExternal(ctx, update);
    }
    await ctx.bus.emit('deployment.queued', { deployment, waitingFor: null }, system);
    emitted.push('deployment.queued');
  } else if (hasNewLinks(deployment.external, update.external)) {
    deployment = await ctx.store.linkExternal(deployment.id, { ...deployment.external, ...update.external });
  }

  if (rank[update.state] <= rank[deployment.state]) return emitted.length ? { kind: 'mirrored', deployment, emitted } : { kind: 'stale', deployment };

  if (update.state === 'running') {
    const started = await ctx.store.markMirrorStarted(deployment.id, ctx.clock.now().toISOString());
    if (started) {
      deployment = started;
      await ctx.bus.emit('deployment.started', { deployment }, system);
      emitted.push('deployment.started');
    }
  }
  if (update.state === 'succeeded' || update.state === 'failed' || update.state === 'cancelled') {
    try {
      deployment = await ctx.store.finishDeployment(deployment.id, {
        state: update.state,
        finishedAt: ctx.clock.now().toISOString(),
        reason: update.reason ?? null,
        logTail: update.logTail ?? null,
      });
    } catch (err) {
      if (isDeckhandError(err, 'E_CONFLICT')) return { kind: 'stale', deployment };
      throw err;
    }
    await ctx.bus.emit(`deployment.${update.state}` as const, { deployment }, system);
    emitted.push(`deployment.${update.state}`);
  }
  return { kind: 'mirrored', deployment, emitted };
}

function hasNewLinks(current: ExternalDeployment | null, next: ExternalDeployment): boolean {
  if (!current) return true;
  return (['url', 'logUrl', 'environmentUrl'] as const).some((k) => next[k] !== undefined && next[k] !== current[k]);
}
