import type { Clock } from '../core/clock.js';
import type { AnyEvent } from '../core/events.js';
import { deploymentLogUrl } from '../http/deployment-log-route.js';
import { type Store } from '../store/types.js';
import { isMirrored, type Deployment, type Job } from '../core/model.js';
import type { DeckhandConfig } from '../config/types.js';
import type { GitHubClient } from './octokit.js';

const stateFor: Record<string, 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | undefined> = {
  'deployment.queued': 'queued',
  'deployment.started': 'in_progress',
  'deployment.succeeded': 'success',
  'deployment.failed': 'failure',
  'deployment.cancelled': 'error',
};

/**
 * Reports a Deckhand deployment's progress to the GitHub deployment it runs, as deployment
 * statuses. Each status is a durable job (keyed by deployment and state), so a GitHub outage
 * delays statuses instead of losing them; a retry of the job (after a kill -9, or an answer that
 * never came) first looks at the deployment's statuses, so it never posts one twice.
 */
export class GitHubStatusReporter {
  constructor(private readonly options: { store: Store; config: DeckhandConfig; clock: Clock; octokit: GitHubClient; publicUrl: () => string | null; wake: () => void }) {}

  onEvent = async (event: AnyEvent): Promise<void> => {
    const state = stateFor[event.type];
    if (!state) return;
    const d = (event.data as { deployment: Deployment }).deployment;
    // Mirrored deployments are GitHub's own news: never echoed back.
    if (d.external?.system !== 'github' || !d.external.repository || isMirrored(d)) return;
    const payload: StatusJob = { repository: d.external.repository, githubId: Number(d.external.id), state, deployment: d };
    const job = await this.options.store.enqueueJob({
      type: 'github-status',
      key: `github-status:${d.id}:${state}`,
      payload,
      runAt: this.options.clock.now().toISOString(),
      maxAttempts: 8,
    });
    if (job) this.options.wake();
  };

  /** Runs a `github-status` job: a Deckhand deployment's progress, or a refusal (see reportRefusal). */
  handle = async (job: Job): Promise<void> => {
    const payload = job.payload as StatusJob;
    const [owner, repo] = payload.repository.split('/') as [string, string];
    const { state, githubId } = payload;
    if (!('deployment' in payload)) {
      // Deckhand refused to run it: nothing ran, so there is no log and no environment to link.
      const description = payload.description.slice(0, 140);
      if (await this.postedBefore(job, { owner, repo, githubId, state, description })) return;
      await (await this.options.octokit()).rest.repos.createDeploymentStatus({ owner, repo, deployment_id: githubId, state, description, auto_inactive: false });
      return;
    }
    const { deployment } = payload;
    const base = this.options.publicUrl();
    const environmentUrl = this.options.config.apps[deployment.app]?.urls[deployment.environment];
    const description = (deployment.reason ? `${deployment.state}: ${deployment.reason}` : `Deckhand #${deployment.id} ${deployment.state}`).slice(0, 140);
    if (await this.postedBefore(job, { owner, repo, githubId, state, description })) return;
    await (await this.options.octokit()).rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: githubId,
      state,
      description,
      ...(base ? { log_url: deploymentLogUrl(base, deployment) } : {}),
      ...(environmentUrl && state !== 'failure' && state !== 'error' ? { environment_url: environmentUrl } : {}),
      auto_inactive: state === 'success',
    });
  };

  /**
   * Whether an earlier attempt of this job already posted its status: the attempt GitHub answered
   * and that never got to complete the job (killed with SIGKILL, its answer lost on the way). A
   * first attempt does not look. The statuses of the deployment are listed newest first; the one
   * this job posts has its state and description (each job posts one state of one Deckhand
   * deployment, and the description names it). At most `maxPages` pages are read.
   */
  private async postedBefore(job: Job, s: { owner: string; repo: string; githubId: number; state: string; description: string }): Promise<boolean> {
    if (job.attempts <= 1) return false;
    const maxPages = 10;
    let pages = 0;
    const octokit = await this.options.octokit();
    for await (const page of octokit.paginate.iterator(octokit.rest.repos.listDeploymentStatuses, { owner: s.owner, repo: s.repo, deployment_id: s.githubId, per_page: 100 })) {
      if (page.data.some((status) => status.state === s.state && status.description === s.description)) return true;
      if (++pages >= maxPages) break;
    }
    return false;
  }
}

type StatusState = NonNullable<(typeof stateFor)[string]>;

/** A `github-status` job's payload: a Deckhand deployment's state, or a fixed description (a refusal). */
export type StatusJob =
  | { repository: string; githubId: number; state: StatusState; deployment: Deployment }
  | { repository: string; githubId: number; state: 'failure' | 'error'; description: string };
