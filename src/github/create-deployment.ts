import type { Octokit } from '@octokit/rest';
import type { AppConfig, DeckhandConfig } from '../config/types.js';

export interface MergedPullRequest {
  repository: string;
  number: number;
  title: string;
  baseBranch: string;
  /** The merge commit (or head sha when GitHub gives none). */
  sha: string;
  mergedBy: string;
}

export type CreateOutcome =
  | { kind: 'created'; id: number; app: string; environment: string }
  | { kind: 'auto-merged'; app: string; environment: string; message: string }
  | { kind: 'conflict'; app: string; environment: string; message: string }
  | { kind: 'refused'; app: string; environment: string; status: number; message: string };

/** The apps and environments a merged pull request should deploy, from the apps' auto_deploy rules. */
export function autoDeployTargets(config: DeckhandConfig, pr: MergedPullRequest): Array<{ app: AppConfig; environment: string; requiredContexts: readonly string[] }> {
  return Object.values(config.apps).flatMap((app) =>
    app.repository?.toLowerCase() === pr.repository.toLowerCase()
      ? app.autoDeploy.filter((rule) => rule.branch === pr.baseBranch).map((rule) => ({ app, environment: rule.environment, requiredContexts: rule.requiredContexts }))
      : [],
  );
}

/**
 * POST /repos/{owner}/{repo}/deployments for a merged pull request. 201 is a deployment; 202 means
 * GitHub auto-merged the default branch instead; 409 is a merge conflict; other 4xx are refusals
 * the user must fix (reported, not retried). 5xx and network errors throw, so the job retries.
 */
export async function createGitHubDeployment(
  octokit: Octokit,
  config: DeckhandConfig,
  target: { app: AppConfig; environment: string; requiredContexts: readonly string[] },
  pr: MergedPullRequest,
): Promise<CreateOutcome> {
  const [owner, repo] = (target.app.repository ?? '').split('/') as [string, string];
  const env = config.environments[target.environment];
  const base = { app: target.app.name, environment: target.environment };
  try {
    const response = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: pr.sha,
      task: 'deploy',
      environment: target.environment,
      auto_merge: false,
      required_contexts: [...target.requiredContexts],
      description: `#${pr.number} ${pr.title}`.slice(0, 140),
      production_environment: target.environment === 'production' || Boolean(env?.protected),
      transient_environment: false,
      payload: { deckhand: { app: target.app.name, pull_request: pr.number, merged_by: pr.mergedBy } },
    });
    if (response.status === 202 || !('id' in response.data)) {
      return { kind: 'auto-merged', ...base, message: String((response.data as { message?: string }).message ?? 'GitHub merged the default branch instead') };
    }
    return { kind: 'created', id: response.data.id, ...base };
  } catch (err) {
    const status = (err as { status?: number }).status;
    const message = String((err as { response?: { data?: { message?: string } } }).response?.data?.message ?? (err as Error).message);
    if (status === 409) return { kind: 'conflict', ...base, message };
    if (status !== undefined && status >= 400 && status < 500) return { kind: 'refused', ...base, status, message };
    throw err;
  }
}

/** The chat line for an outcome. */
export function describeOutcome(outcome: CreateOutcome, pr: MergedPullRequest): string {
  const what = `${outcome.app} to ${outcome.environment} for #${pr.number} (merged by ${pr.mergedBy})`;
  switch (outcome.kind) {
    case 'created':
      return `GitHub deployment ${outcome.id} created: ${what}.`;
    case 'auto-merged':
      return `No deployment of ${what}: GitHub auto-merged instead (${outcome.message}). Deploy again once the branch is up to date.`;
    case 'conflict':
      return `No deployment of ${what}: merge conflict (${outcome.message}).`;
    case 'refused':
      return `GitHub refused the deployment of ${what}: ${outcome.status} ${outcome.message}. Check the repository, the token's permissions, and the required status checks.`;
  }
}
