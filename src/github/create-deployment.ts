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

/** What to ask GitHub for: POST /repos/{owner}/{repo}/deployments. */
export interface DeploymentRequest {
  repository: string;
  ref: string;
  environment: string;
  requiredContexts: readonly string[] | undefined;
  description: string;
  production: boolean;
  payload: Record<string, unknown>;
}

export type RequestOutcome =
  | { kind: 'created'; id: number; url: string }
  | { kind: 'auto-merged'; message: string }
  | { kind: 'conflict'; message: string }
  | { kind: 'refused'; status: number; message: string };

/**
 * Creates a GitHub deployment. 201 is a deployment; 202 means GitHub auto-merged the default
 * branch instead; 409 is a merge conflict or failing required status checks; other 4xx are
 * refusals the user must fix. 5xx and network errors throw (jobs retry them).
 */
export async function requestDeployment(octokit: Octokit, request: DeploymentRequest): Promise<RequestOutcome> {
  const [owner, repo] = request.repository.split('/') as [string, string];
  try {
    const response = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: request.ref,
      task: 'deploy',
      environment: request.environment,
      // Deckhand deploys exactly the ref asked for; GitHub's default would merge the default branch in.
      auto_merge: false,
      // Omitted: GitHub requires every status check of the ref to be green.
      ...(request.requiredContexts ? { required_contexts: [...request.requiredContexts] } : {}),
      description: request.description.slice(0, 140),
      production_environment: request.production,
      transient_environment: false,
      payload: request.payload,
    });
    if (response.status === 202 || !('id' in response.data)) {
      return { kind: 'auto-merged', message: String((response.data as { message?: string }).message ?? 'GitHub merged the default branch instead') };
    }
    return { kind: 'created', id: response.data.id, url: response.data.url };
  } catch (err) {
    const status = (err as { status?: number }).status;
    const message = String((err as { response?: { data?: { message?: string } } }).response?.data?.message ?? (err as Error).message);
    if (status === 409) return { kind: 'conflict', message };
    if (status !== undefined && status >= 400 && status < 500) return { kind: 'refused', status, message };
    throw err;
  }
}

/** GitHub's production_environment flag for a Deckhand environment. */
export function isProduction(config: DeckhandConfig, environment: string): boolean {
  return environment === 'production' || Boolean(config.environments[environment]?.protected);
}

/**
 * A merged pull request's deployment, as one of the apps' auto_deploy rules asks. `requestKey`
 * goes into the payload so the `deployment` event can be matched with Deckhand's own record of
 * this call (see OwnDeployments); the payload alone proves nothing.
 */
export async function createGitHubDeployment(
  octokit: Octokit,
  config: DeckhandConfig,
  target: { app: AppConfig; environment: string; requiredContexts: readonly string[] },
  pr: MergedPullRequest,
  requestKey: string,
): Promise<CreateOutcome> {
  const outcome = await requestDeployment(octokit, {
    repository: target.app.repository ?? '',
    ref: pr.sha,
    environment: target.environment,
    requiredContexts: target.requiredContexts,
    description: `#${pr.number} ${pr.title}`,
    production: isProduction(config, target.environment),
    payload: { deckhand: { app: target.app.name, pull_request: pr.number, merged_by: pr.mergedBy, request_key: requestKey } },
  });
  const base = { app: target.app.name, environment: target.environment };
  return outcome.kind === 'created' ? { kind: 'created', id: outcome.id, ...base } : { ...outcome, ...base };
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
