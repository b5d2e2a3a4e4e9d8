import type { AppConfig, DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { can, formatPermission, rolesGranting, type Actor, type Permission } from '../core/permissions.js';
import type { OnCallClient } from '../oncall/oncall-client.js';
import type { DeploymentProvider } from '../providers/types.js';
import type { Store } from '../store/types.js';
import type { Deployment, ExternalDeployment, NewAuditRecord } from '../core/model.js';

/** Starts queued deployments; implemented by the deployment runner. */
export interface DeploymentQueue {
  kick(app: string, environment: string): void;
}

/**
 * Another system that shows Deckhand's deployments (GitHub's environments page): each deployment
 * of an app it tracks gets a twin there before it is queued.
 */
export interface DeploymentTracker {
  tracks(app: AppConfig): boolean;
  /** Creates the twin; throws DeckhandError E_UPSTREAM with the other system's reason. */
  open(app: AppConfig, deployment: Deployment, options: { forced: boolean }): Promise<ExternalDeployment>;
}

/** Everything an action needs; built once in main.ts and shared by every entry point. */
export interface ActionContext {
  config: DeckhandConfig;
  store: Store;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  providers: Readonly<Record<string, DeploymentProvider>>;
  queue: DeploymentQueue;
  tracker?: DeploymentTracker | undefined;
  /** The Splunk On-Call public API, when configured. */
  oncall?: OnCallClient | undefined;
}

export async function audit(ctx: ActionContext, actor: Actor, record: Omit<NewAuditRecord, 'at' | 'actor'>): Promise<void> {
  await ctx.store.appendAudit({ at: ctx.clock.now().toISOString(), actor: actor.id, ...record });
}

/** Throws E_FORBIDDEN (after auditing the refusal) unless the actor holds the permission. */
export async function authorize(ctx: ActionContext, actor: Actor, permission: Permission, action: string, target: string): Promise<void> {
  if (can(ctx.config, actor, permission)) return;
  const needed = formatPermission(permission);
  await audit(ctx, actor, { action, target, outcome: 'denied', details: { needed } });
  const roles = rolesGranting(ctx.config, permission);
  const who = roles.length > 0 ? ` Roles that have it: ${roles.join(', ')}.` : ' No role has it yet: add it to a role in the config.';
  throw new DeckhandError(ErrorCode.Forbidden, `You (${actor.id}) are not allowed to do that: it needs ${needed}.${who}`, {
    needed,
    roles,
  });
}
