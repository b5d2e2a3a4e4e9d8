import type { Actor } from '../core/permissions.js';
import type { ActionContext } from './context.js';
import { decideApproval } from './approve.js';
import { createRelease } from './create-release.js';
import { deploy } from './deploy.js';
import { holdOn, listHolds, previewReleaseHold, releaseHold } from './holds.js';
import { actOnIncident, whoIsOnCall } from './incidents.js';
import { lock, unlock } from './lock.js';
import { mirrorExternal, type ExternalUpdate } from './mirror.js';
import { listLocks, recentDeployments, whereCanDeploy, whoami } from './queries.js';
import { previewRollback, rollback } from './rollback.js';

export type { ActionContext, DeploymentQueue, DeploymentTracker } from './context.js';

/** The action layer bound to one context: the only API commands (and later webhooks, reactions, REST) call. */
export function bindActions(ctx: ActionContext) {
  return {
    deploy: (actor: Actor, input: Parameters<typeof deploy>[2], link?: Parameters<typeof deploy>[3]) => deploy(ctx, actor, input, link),
    mirrorExternal: (update: ExternalUpdate) => mirrorExternal(ctx, update),
    actOnIncident: (actor: Actor, input: Parameters<typeof actOnIncident>[2]) => actOnIncident(ctx, actor, input),
    whoIsOnCall: (team?: string) => whoIsOnCall(ctx, team),
    rollback: (actor: Actor, input: Parameters<typeof rollback>[2]) => rollback(ctx, actor, input),
    previewRollback: (input: Parameters<typeof previewRollback>[1]) => previewRollback(ctx, input),
    createRelease: (actor: Actor, input: Parameters<typeof createRelease>[2], options?: Parameters<typeof createRelease>[3]) => createRelease(ctx, actor, input, options),
    decideApproval: (actor: Actor, input: Parameters<typeof decideApproval>[2]) => decideApproval(ctx, actor, input),
    lock: (actor: Actor, input: Parameters<typeof lock>[2]) => lock(ctx, actor, input),
    unlock: (actor: Actor, input: Parameters<typeof unlock>[2]) => unlock(ctx, actor, input),
    recentDeployments: (app: string, environment?: string, limit?: number) => recentDeployments(ctx, app, environment, limit),
    whereCanDeploy: (actor: Actor, app: string) => whereCanDeploy(ctx, actor, app),
    whoami: (actor: Actor) => whoami(ctx, actor),
    listLocks: () => listLocks(ctx),
    listHolds: () => listHolds(ctx),
    holdOn: (app: string, environment: string) => holdOn(ctx, app, environment),
    previewReleaseHold: (actor: Actor, input: Parameters<typeof releaseHold>[2]) => previewReleaseHold(ctx, actor, input),
    releaseHold: (actor: Actor, input: Parameters<typeof releaseHold>[2]) => releaseHold(ctx, actor, input),
  };
}

export type Actions = ReturnType<typeof bindActions>;
