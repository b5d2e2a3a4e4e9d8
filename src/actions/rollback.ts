import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Actor } from '../core/permissions.js';
import { resolveApp, resolveAppEnvironment } from '../core/resolve-target.js';
import type { Store } from '../store/types.js';
import type { Deployment } from '../core/model.js';
import type { ActionContext } from './context.js';
import { deploy, type DeployResult } from './deploy.js';
import { nameSchema, parseInput } from './validate.js';

export const rollbackInput = z.object({ app: nameSchema, environment: nameSchema.optional() });

export interface RollbackPlan {
  current: Deployment;
  previous: Deployment;
}

/** The live deployment and the last successful one before it with a different ref. */
export async function planRollback(store: Store, app: string, environment: string): Promise<RollbackPlan | null> {
  const succeeded = await store.listDeployments({ app, environment, states: ['succeeded'], limit: 100 });
  const real = succeeded.filter((d) => !d.dryRun);
  const current = real[0];
  if (!current) return null;
  const previous = real.find((d) => d.ref !== current.ref);
  return previous ? { current, previous } : null;
}

/** Resolves the target (the app's default environment when none is given) and plans the rollback. */
export async function previewRollback(ctx: ActionContext, raw: z.input<typeof rollbackInput>) {
  const input = parseInput(rollbackInput, raw);
  const app = resolveApp(ctx.config, input.app);
  const environment = resolveAppEnvironment(ctx.config, app, input.environment);
  return { app: app.name, environment, plan: await planRollback(ctx.store, app.name, environment) };
}

export async function rollback(ctx: ActionContext, actor: Actor, raw: z.input<typeof rollbackInput>): Promise<DeployResult & RollbackPlan> {
  const { app, environment, plan } = await previewRollback(ctx, raw);
  if (!plan) {
    throw new DeckhandError(
      ErrorCode.NothingToRollback,
      `Nothing to roll back to: ${app} has no earlier successful deployment to ${environment} with a different ref.`,
      { app, environment },
    );
  }
  const result = await deploy(ctx, actor, {
    app,
    environment,
    ref: plan.previous.ref,
    rollbackOf: plan.current.id,
    source: 'chat',
  });
  return { ...result, ...plan };
}
