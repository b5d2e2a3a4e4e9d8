import type { DeploymentTracker } from '../actions/context.js';
import type { AppConfig, DeckhandConfig } from '../config/types.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Deployment, ExternalDeployment } from '../core/model.js';
import { isProduction, requestDeployment } from './create-deployment.js';
import type { GitHubClient } from './octokit.js';

/**
 * What Deckhand puts in the payload of the GitHub deployments it creates: for its own deployment
 * #deployment_id (chat, API, reactions), or for a merged pull request (auto_deploy, with the
 * request_key of the create call). Anyone can write such a payload: it is only believed when
 * Deckhand's own records agree (the deployment's link, OwnDeployments).
 */
export interface DeckhandPayload {
  deckhand?: { app?: string; deployment_id?: number; requested_by?: string; pull_request?: number; merged_by?: string; request_key?: string };
}

/** Apps with a repository whose refs are git refs (an Octopus app's refs are release versions). */
export function tracksOnGitHub(app: AppConfig): boolean {
  return app.repository !== undefined && app.provider.kind === 'script';
}

/**
 * Every deployment of an app with a `repository` becomes a GitHub deployment first, so GitHub's
 * environments page, the pull request timeline and `deployment_status` webhooks see it. Deckhand
 * then runs it itself (the `deployment` webhook for it finds the deployment linked and is skipped)
 * and reports its progress back as deployment statuses.
 */
export class GitHubTracker implements DeploymentTracker {
  constructor(private readonly options: { octokit: GitHubClient; config: DeckhandConfig }) {}

  tracks(app: AppConfig): boolean {
    return tracksOnGitHub(app);
  }

  async open(app: AppConfig, deployment: Deployment, options: { forced: boolean }): Promise<ExternalDeployment> {
    const repository = app.repository ?? '';
    const payload: DeckhandPayload = { deckhand: { app: app.name, deployment_id: deployment.id, requested_by: deployment.requestedBy } };
    // Outside the try: a client that cannot be built is not "GitHub did not answer".
    const octokit = await this.options.octokit();
    let outcome;
    try {
      outcome = await requestDeployment(octokit, {
        repository,
        ref: deployment.ref,
        environment: deployment.environment,
        // deploy! skips GitHub's status checks as it skips Deckhand's own.
        requiredContexts: options.forced ? [] : undefined,
        description: `Deckhand #${deployment.id} by ${deployment.requestedBy}`,
        production: isProduction(this.options.config, deployment.environment),
        payload: payload as Record<string, unknown>,
      });
    } catch (err) {
      throw new DeckhandError(ErrorCode.Upstream, `GitHub did not answer for ${repository}: ${(err as Error).message}. Try again in a moment.`, { repository }, { cause: err });
    }
    const what = `${app.name}/${deployment.ref} to ${deployment.environment}`;
    switch (outcome.kind) {
      case 'created':
        return { system: 'github', id: String(outcome.id), repository, url: outcome.url };
      case 'conflict':
        throw new DeckhandError(ErrorCode.Upstream, `GitHub won't deploy ${what}: ${outcome.message}. Fix the checks, or use deploy! to skip them.`, { repository, status: 409 });
      case 'auto-merged':
        throw new DeckhandError(ErrorCode.Upstream, `GitHub merged the default branch into ${deployment.ref} instead of deploying it (${outcome.message}). Deploy again once the branch is up to date.`, { repository, status: 202 });
      case 'refused':
        throw new DeckhandError(
          ErrorCode.Upstream,
          `GitHub refused the deployment of ${what}: ${outcome.status} ${outcome.message}. Check that ${repository} and the ref "${deployment.ref}" exist and that Deckhand's token may create deployments.`,
          { repository, status: outcome.status },
        );
    }
  }
}
