import type { Actions } from '../actions/index.js';
import type { ExternalUpdate, MirrorResult } from '../actions/mirror.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { isDeckhandError } from '../core/errors.js';
import { resolveAppEnvironment } from '../core/resolve-target.js';
import type { Store } from '../store/types.js';
import { OwnDeployments } from './own-deployments.js';
import { appForDeployment } from './run-deployment.js';

interface DeploymentStatusEvent {
  repository?: { full_name?: string };
  deployment_status?: { state?: string; description?: string | null; log_url?: string; target_url?: string; environment_url?: string };
  deployment?: { id?: number; url?: string; ref?: string; sha?: string; environment?: string; payload?: unknown; creator?: { login?: string } | null };
}

const stateFor: Record<string, ExternalUpdate['state'] | undefined> = {
  pending: 'queued',
  queued: 'queued',
  in_progress: 'running',
  success: 'succeeded',
  failure: 'failed',
  error: 'failed',
};

/** The mirror update a deployment_status event stands for, or why it is not one. */
export function statusUpdate(config: DeckhandConfig, event: DeploymentStatusEvent): ExternalUpdate | { skipped: string } {
  const d = event.deployment;
  const status = event.deployment_status;
  const repository = event.repository?.full_name;
  if (!d?.id || !d.environment || !status?.state || !repository) return { skipped: 'incomplete deployment_status event' };
  // No look at the payload here: a `deckhand.deployment_id` in it proves nothing. Statuses of
  // deployments Deckhand runs find them linked (mirrorExternal answers "own").
  const state = stateFor[status.state];
  if (!state) return { skipped: `state "${status.state}" is not news` };
  const app = appForDeployment(config, event);
  if (!app) return { skipped: `no app for ${repository}` };
  let environment: string;
  try {
    environment = resolveAppEnvironment(config, config.apps[app]!, d.environment);
  } catch (err) {
    if (isDeckhandError(err)) return { skipped: `${d.environment} is not an environment of ${app}` };
    throw err;
  }
  const logUrl = status.log_url || status.target_url;
  const description = status.description?.trim() || null;
  return {
    external: {
      system: 'github',
      id: String(d.id),
      repository,
      ...(d.url ? { url: d.url } : {}),
      ...(logUrl ? { logUrl } : {}),
      ...(status.environment_url ? { environmentUrl: status.environment_url } : {}),
    },
    app,
    environment,
    ref: d.ref ?? d.sha ?? '',
    requestedBy: `github:${d.creator?.login ?? 'unknown'}`,
    state,
    reason: state === 'failed' ? (description ?? `GitHub reported ${status.state}`) : description,
  };
}

/**
 * A deployment_status from another tool (a GitHub Actions workflow, another bot): the same live
 * notice and the same deployment.* events as Deckhand's own deployments, with source "github".
 * Statuses of deployments Deckhand runs itself are its own echo and change nothing; so are those
 * of a deployment Deckhand refused to run (the first is its own refusal; it stays refused).
 */
export async function mirrorGitHubStatus(deps: { config: DeckhandConfig; actions: Actions; store: Store; clock: Clock }, event: DeploymentStatusEvent): Promise<MirrorResult | { skipped: string }> {
  const update = statusUpdate(deps.config, event);
  if ('skipped' in update) return update;
  if (await new OwnDeployments(deps).isRefused(update.external.repository ?? '', Number(update.external.id))) {
    return { skipped: `a status of GitHub deployment ${update.external.id}, which Deckhand refused to run` };
  }
  return deps.actions.mirrorExternal(update);
}
