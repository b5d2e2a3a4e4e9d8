import { holdsInForce, type TargetHold } from '../core/holds.js';
import { blockingLock } from '../core/locks.js';
import { can, rolesOf, type Actor } from '../core/permissions.js';
import { resolveApp, resolveAppEnvironment } from '../core/resolve-target.js';
import type { Deployment, Lock } from '../core/model.js';
import type { ActionContext } from './context.js';

/** Read-only questions users ask in chat; no permission needed, nothing audited. */

export async function recentDeployments(ctx: ActionContext, app: string, environment?: string, limit = 10): Promise<{ app: string; environment: string | null; deployments: Deployment[] }> {
  const appConfig = resolveApp(ctx.config, app);
  const env = environment === undefined ? null : resolveAppEnvironment(ctx.config, appConfig, environment);
  const deployments = await ctx.store.listDeployments({ app: appConfig.name, ...(env ? { environment: env } : {}), limit });
  return { app: appConfig.name, environment: env, deployments };
}

export interface DeployTarget {
  environment: string;
  allowed: boolean;
  protected: boolean;
  isDefault: boolean;
  lock: Lock | null;
  /** The newest successful, non-dry-run deployment there. */
  live: Deployment | null;
  /** An interrupted deployment whose script may still run there, keeping the queue waiting; null when none. */
  hold: TargetHold | null;
}

export async function whereCanDeploy(ctx: ActionContext, actor: Actor, app: string): Promise<{ app: string; targets: DeployTarget[] }> {
  const appConfig = resolveApp(ctx.config, app);
  const now = ctx.clock.now();
  const holds = holdsInForce(await ctx.store.listOrphanedDeployments(now.toISOString()), now).filter((h) => h.deployment.app === appConfig.name);
  const targets: DeployTarget[] = [];
  for (const environment of appConfig.environments) {
    const locks = await ctx.store.locksFor(environment, appConfig.name);
    const live = (await ctx.store.listDeployments({ app: appConfig.name, environment, states: ['succeeded'], limit: 20 })).find((d) => !d.dryRun);
    targets.push({
      environment,
      allowed: can(ctx.config, actor, { verb: 'deploy', scope: environment }),
      protected: ctx.config.environments[environment]?.protected ?? false,
      isDefault: environment === appConfig.defaultEnvironment,
      lock: blockingLock(locks, actor.id, ctx.config.locks.holderMayDeploy),
      live: live ?? null,
      hold: holds.filter((h) => h.deployment.environment === environment).at(-1) ?? null,
    });
  }
  return { app: appConfig.name, targets };
}

export function whoami(ctx: ActionContext, actor: Actor): { id: string; roles: string[]; grants: string[] } {
  const roles = rolesOf(ctx.config, actor);
  return { id: actor.id, roles: roles.map((r) => r.name), grants: [...new Set(roles.flatMap((r) => r.may))] };
}

export async function listLocks(ctx: ActionContext): Promise<Lock[]> {
  return ctx.store.listLocks();
}

