import type { DeckhandConfig } from '../config/types.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { can, formatPermission, rolesGranting, type Actor, type Permission } from '../core/permissions.js';

/**
 * What operators' reads and repairs need, in the same `verb:scope` grants as chat (deckhand.yaml
 * roles). `read:<what>` to look, `operate:<what>` to change what Deckhand does with it; `admin:*`
 * covers all, `read:*` every list. The scopes are the kinds of record, not environments: a
 * delivery or a job belongs to no one environment.
 */
export const operatorPermissions = {
  readDeliveries: { verb: 'read', scope: 'deliveries' },
  replayDelivery: { verb: 'operate', scope: 'deliveries' },
  readJobs: { verb: 'read', scope: 'jobs' },
  retryJob: { verb: 'operate', scope: 'jobs' },
  readAudit: { verb: 'read', scope: 'audit' },
  readDeployments: { verb: 'read', scope: 'deployments' },
  postMessage: { verb: 'operate', scope: 'messages' },
} as const satisfies Record<string, Permission>;

/** Throws E_FORBIDDEN, naming the permission and the roles that have it, unless the actor holds it. */
export function requirePermission(config: DeckhandConfig, actor: Actor, permission: Permission): void {
  if (can(config, actor, permission)) return;
  const needed = formatPermission(permission);
  const roles = rolesGranting(config, permission);
  const who = roles.length > 0 ? ` Roles that have it: ${roles.join(', ')}.` : ' No role has it yet: add it to a role in the config.';
  throw new DeckhandError(ErrorCode.Forbidden, `${actor.id} is not allowed to do that: it needs ${needed}.${who}`, { needed, roles });
}
