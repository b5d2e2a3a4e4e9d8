import type { Actions } from '../actions/index.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Store } from '../store/types.js';
import type { DeckhandPayload } from './tracker.js';

interface DeploymentEvent {
  repository?: { full_name?: string };
  deployment?: { id?: number; url?: string; ref?: string; sha?: string; environment?: string; task?: string; payload?: unknown; creator?: { login?: string } | null };
}

/** The Deckhand app a GitHub deployment is for: the one named in its payload, else the only app with that repository. */
export function appForDeployment(config: DeckhandConfig, event: DeploymentEvent): string | null {
  const repository = event.repository?.full_name?.toLowerCase();
  const named = (event.deployment?.payload as { deckhand?: { app?: unknown } } | undefined)?.deckhand?.app;
  const candidates = Object.values(config.apps).filter((a) => a.repository?.toLowerCase() === repository);
  if (typeof named === 'string') return candidates.find((a) => a.name === named)?.name ?? null;
  return candidates.length === 1 ? (candidates[0]?.name ?? null) : null;
}

/**
 * A `deployment` event: run it through the app's provider like any other deployment (locks,
 * approvals, the queue and notices apply), and remember which GitHub deployment it is.
 */
export async function runGitHubDeployment(deps: { config: DeckhandConfig; actions: Actions; store: Store }, event: DeploymentEvent): Promise<{ deckhandId: number } | { skipped: string }> {
  const d = event.deployment;
  if (!d?.id || !d.environment || !event.repository?.full_name) return { skipped: 'incomplete deployment event' };
  if (d.task && d.task !== 'deploy') return { skipped: `task "${d.task}" is not a deploy` };
  // Deckhand created it for a deployment of its own (chat, API, reactions): that one is already queued.
  const own = (d.payload as DeckhandPayload | undefined)?.deckhand?.deployment_id;
  if (typeof own === 'number') return { skipped: `Deckhand created it for its deployment #${own}` };
  const linked = await deps.store.findByExternal('github', String(d.id));
  if (linked) return { skipped: `already deployment #${linked.id}` };
  const app = appForDeployment(deps.config, event);
  if (!app) return { skipped: `no app for ${event.repository.full_name} (set the app's repository, or name it in the deployment payload)` };
  // Deckhand runs the exact commit GitHub deploys; the branch name is what people read.
  // The GitHub deployment is linked from the start, so every status finds its way back.
  const result = await deps.actions.deploy(
    { id: `github:${d.creator?.login ?? 'unknown'}`, system: true },
    { app, ref: d.sha ?? d.ref ?? '', environment: d.environment, source: 'webhook' },
    { external: { system: 'github', id: String(d.id), repository: event.repository.full_name, ...(d.url ? { url: d.url } : {}) } },
  );
  return { deckhandId: result.deployment.id };
}
