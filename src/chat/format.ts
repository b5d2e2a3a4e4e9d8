import { formatDuration } from '../config/duration.js';
import { timeAgo } from '../core/locks.js';
import type { Deployment } from '../core/model.js';

export function deploymentTitle(d: Deployment): string {
  const flags = [d.dryRun ? 'dry run' : null, d.forced ? 'forced' : null, d.rollbackOf ? `rollback of #${d.rollbackOf}` : null].filter(Boolean);
  return `#${d.id} ${d.app}/${d.ref} to ${d.environment}${flags.length ? ` (${flags.join(', ')})` : ''}`;
}

export function deploymentDuration(d: Deployment): string | null {
  if (!d.startedAt || !d.finishedAt) return null;
  return formatDuration(new Date(d.finishedAt).getTime() - new Date(d.startedAt).getTime());
}

/**
 * The state, with how long it took when both ends are known: "succeeded in 2s", or just "succeeded"
 * for a deployment mirrored from another system whose start Deckhand never heard of.
 */
export function deploymentOutcome(d: Deployment): string {
  const took = deploymentDuration(d);
  return took ? `${d.state} in ${took}` : d.state;
}

/** One line for lists: "#3 hello/main to staging — succeeded in 2s, by alice, 5 minutes ago". */
export function deploymentLine(d: Deployment, now: Date): string {
  const state = deploymentOutcome(d);
  const reason = d.reason && d.state !== 'succeeded' ? ` (${d.reason})` : '';
  const twin = d.external?.system === 'github' ? ` [GitHub deployment ${d.external.id}]` : d.external ? ` [${d.external.system} ${d.external.id}]` : '';
  return `${deploymentTitle(d)} — ${state}${reason}, by ${d.requestedBy}, ${timeAgo(new Date(d.createdAt), now)}${twin}`;
}
