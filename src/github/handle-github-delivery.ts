import type { ChatPort } from '../chat/chat-port.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import type { Job } from '../core/model.js';
import type { Actions } from '../actions/index.js';
import { mirrorGitHubStatus } from './mirror-status.js';
import { runGitHubDeployment } from './run-deployment.js';
import { autoDeployMergedPullRequest } from './auto-deploy.js';
import { autoDeployTargets, type MergedPullRequest } from './create-deployment.js';
import type { GitHubClient } from './octokit.js';

interface PullRequestEvent {
  action?: string;
  number?: number;
  repository?: { full_name?: string };
  pull_request?: { number?: number; title?: string; merged?: boolean; merge_commit_sha?: string | null; head?: { sha?: string }; base?: { ref?: string }; merged_by?: { login?: string } | null; user?: { login?: string } };
}

export interface GitHubHandlerOptions {
  store: Store;
  config: DeckhandConfig;
  actions: Actions;
  octokit: GitHubClient;
  logger: Logger;
  clock: Clock;
  chat: () => ChatPort | null;
}

/** A merged pull request from a pull_request event, or null when it is anything else. */
export function mergedPullRequest(payload: PullRequestEvent): MergedPullRequest | null {
  const pr = payload.pull_request;
  // A payload is signed, not trusted to be well formed: a field of the wrong type is "not a merge".
  if (payload.action !== 'closed' || pr?.merged !== true || typeof payload.repository?.full_name !== 'string' || !payload.repository.full_name) return null;
  const sha = pr.merge_commit_sha ?? pr.head?.sha;
  if (typeof sha !== 'string' || !sha || typeof pr.base?.ref !== 'string' || !pr.base.ref || typeof pr.number !== 'number') return null;
  const login = [pr.merged_by?.login, pr.user?.login].find((l): l is string => typeof l === 'string' && l !== '');
  return { repository: payload.repository.full_name, number: pr.number, title: typeof pr.title === 'string' ? pr.title : '', baseBranch: pr.base.ref, sha, mergedBy: login ?? 'someone' };
}

/**
 * Whether the handler below would do anything with this event: deployments and their statuses
 * always; a pull request only when it was merged into a branch an app auto-deploys from. Decided
 * when the delivery arrives (the payload and the config are all it reads), so a delivery nothing
 * acts on needs no job run.
 */
export function githubEventNeedsJob(config: DeckhandConfig, event: string, payload: unknown): boolean {
  if (event === 'deployment' || event === 'deployment_status') return true;
  if (event !== 'pull_request' || typeof payload !== 'object' || payload === null) return false;
  const pr = mergedPullRequest(payload as PullRequestEvent);
  return pr !== null && autoDeployTargets(config, pr).length > 0;
}

/** Job handler for stored GitHub deliveries. Events Deckhand does not act on are logged and done. */
export function createGitHubDeliveryHandler(options: GitHubHandlerOptions) {
  return async (job: Job): Promise<void> => {
    const { deliveryId } = job.payload as { deliveryId: number };
    const delivery = await options.store.getDelivery(deliveryId);
    if (!delivery) throw new Error(`github delivery ${deliveryId} is missing`);
    const event = delivery.headers['x-github-event'] ?? '';
    const log = options.logger.child({ githubEvent: event, githubDelivery: delivery.deliveryId });

    if (event === 'deployment') {
      // Once per delivery, even if this job is retried after the deployment was queued.
      if (await options.store.isSeen('github-deployment-run', delivery.deliveryId)) return;
      // Throws (and is retried) while Deckhand's own create call for this deployment is unanswered.
      const result = await runGitHubDeployment(options, delivery.body as Parameters<typeof runGitHubDeployment>[1]);
      await options.store.markSeen('github-deployment-run', delivery.deliveryId, options.clock.now().toISOString());
      log.info({ result }, 'github deployment event');
      return;
    }
    if (event === 'deployment_status') {
      const result = await mirrorGitHubStatus(options, delivery.body as Parameters<typeof mirrorGitHubStatus>[1]);
      log.info({ result: 'skipped' in result ? result : { kind: result.kind, deployment: result.deployment.id } }, 'github deployment status');
      return;
    }
    if (event !== 'pull_request') {
      log.info('github event ignored: Deckhand does not act on it (yet)');
      return;
    }
    const pr = mergedPullRequest(delivery.body as PullRequestEvent);
    if (pr) await autoDeployMergedPullRequest(options, job, delivery.deliveryId, pr, log);
  };
}
