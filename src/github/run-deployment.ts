import type { Actions } from '../actions/index.js';
import type { ChatPort } from '../chat/chat-port.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { DeckhandError, ErrorCode, isDeckhandError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Actor } from '../core/permissions.js';
import { canonicalEnvironment } from '../core/resolve-target.js';
import { type Store } from '../store/types.js';
import { isMirrored, type ExternalDeployment } from '../core/model.js';
import { OwnDeployments } from './own-deployments.js';
import { reportRefusal } from './report-refusal.js';
import { tracksOnGitHub, type DeckhandPayload } from './tracker.js';

interface DeploymentEvent {
  repository?: { full_name?: string };
  deployment?: { id?: number; url?: string; ref?: string; sha?: string; environment?: string; task?: string; payload?: unknown; creator?: { login?: string } | null };
}

export type DeploymentEventResult =
  | { ran: number; requestedBy: string }
  | { mirrored: number }
  | { refused: string }
  | { skipped: string };

/** The Deckhand app a GitHub deployment is for: the one named in its payload, else the only app with that repository. */
export function appForDeployment(config: DeckhandConfig, event: DeploymentEvent): string | null {
  const repository = event.repository?.full_name?.toLowerCase();
  const named = (event.deployment?.payload as { deckhand?: { app?: unknown } } | undefined)?.deckhand?.app;
  const candidates = Object.values(config.apps).filter((a) => a.repository?.toLowerCase() === repository);
  if (typeof named === 'string') return candidates.find((a) => a.name === named)?.name ?? null;
  return candidates.length === 1 ? (candidates[0]?.name ?? null) : null;
}

/**
 * A `deployment` event. Deckhand's own deployments are recognised by its own records, never by
 * the payload alone (anyone with write access can create a deployment with any payload):
 * - linked to a Deckhand deployment already (chat, API, a replay): skipped;
 * - created by Deckhand for a merged pull request (auto_deploy): run, requested by the merger,
 *   authorised by the config's rule as a schedule is;
 * - anyone else's: mirrored (shown and followed through its statuses, never run), unless the app
 *   has `github: { run_deployments: true }`: then run as github:<login>, with that user's roles,
 *   the app's rooms, locks and approvals; a refusal becomes a failure status on the deployment.
 * Throws (the job retries) while Deckhand's own create call for it has not answered yet.
 */
export async function runGitHubDeployment(
  deps: { config: DeckhandConfig; actions: Actions; store: Store; clock: Clock; logger: Logger; chat: () => ChatPort | null },
  event: DeploymentEvent,
): Promise<DeploymentEventResult> {
  const d = event.deployment;
  const repository = event.repository?.full_name;
  if (!d?.id || !d.environment || !repository) return { skipped: 'incomplete deployment event' };
  if (d.task && d.task !== 'deploy') return { skipped: `task "${d.task}" is not a deploy` };
  const linked = await deps.store.findByExternal('github', String(d.id));
  if (linked) return { skipped: `already deployment #${linked.id}` };
  const own = new OwnDeployments(deps);
  if (await own.isRefused(repository, d.id)) return { skipped: 'Deckhand refused it already' };
  const app = appForDeployment(deps.config, event);
  if (!app) return { skipped: `no app for ${repository} (set the app's repository, or name it in the deployment payload)` };
  const environment = canonicalEnvironment(deps.config, d.environment);
  // Not Deckhand's business (GitHub Pages, preview environments): neither run, refused nor shown.
  if (!environment || !deps.config.apps[app]?.environments.includes(environment)) return { skipped: `${d.environment} is not an environment of ${app}` };

  const mine = (d.payload as DeckhandPayload | undefined)?.deckhand ?? {};
  const provenance = await own.provenance(repository, d.id, mine.request_key);
  if (provenance === 'creating' || (provenance === 'unknown' && (await chatDeployInFlight(deps, mine.deployment_id, app, environment)))) {
    // Upstream without a status: GitHub's answer is still to come, so the job is retried.
    throw new DeckhandError(ErrorCode.Upstream, `GitHub deployment ${d.id} may be Deckhand's own, and GitHub has not answered Deckhand's create call yet: deciding once it has.`, { githubId: d.id });
  }
  if (provenance === 'abandoned') return { skipped: "Deckhand's create call for it failed and was made again: this one is not run" };

  const creator = `github:${d.creator?.login ?? 'unknown'}`;
  const external: ExternalDeployment = { system: 'github', id: String(d.id), repository, ...(d.url ? { url: d.url } : {}) };
  let actor: Actor;
  if (provenance === 'created') {
    // Deckhand wrote this payload itself (the id is on record), so merged_by is the merger's.
    actor = { id: typeof mine.merged_by === 'string' && mine.merged_by ? `github:${mine.merged_by}` : creator, system: true };
  } else if (deps.config.apps[app]?.github.runDeployments) {
    // Like a chat user in a room called "github": an app with `rooms` must list it.
    actor = { id: creator, room: 'github' };
  } else {
    const result = await deps.actions.mirrorExternal({ external, app, environment, ref: d.ref ?? d.sha ?? '', requestedBy: creator, state: 'queued' });
    return { mirrored: result.deployment.id };
  }

  try {
    // Deckhand runs the exact commit GitHub deploys; it is linked from the start, so every status finds its way back.
    const result = await deps.actions.deploy(actor, { app, ref: d.sha ?? d.ref ?? '', environment, source: 'webhook' }, { external });
    return { ran: result.deployment.id, requestedBy: actor.id };
  } catch (err) {
    if (!isDeckhandError(err)) throw err;
    await reportRefusal(deps, { repository, githubId: d.id, app, environment, requestedBy: actor.id, error: err });
    return { refused: err.message };
  }
}

/**
 * A chat deploy's GitHub deployment can reach Deckhand before the link to it is written (GitHub
 * answers the create call, then Deckhand links). Until then the Deckhand deployment it names is
 * queued without a link; any other `deployment_id` is a claim Deckhand cannot back.
 */
async function chatDeployInFlight(deps: { store: Store; config: DeckhandConfig }, claimed: unknown, app: string, environment: string): Promise<boolean> {
  if (typeof claimed !== 'number' || !Number.isSafeInteger(claimed)) return false;
  const d = await deps.store.getDeployment(claimed);
  const config = deps.config.apps[app];
  return Boolean(d && config && tracksOnGitHub(config) && !isMirrored(d) && !d.dryRun && d.external === null && d.state === 'queued' && d.app === app && d.environment === environment);
}
