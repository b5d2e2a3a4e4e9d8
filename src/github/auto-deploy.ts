import { postAppNotice } from '../chat/post-app-notice.js';
import type { Logger } from '../core/logger.js';
import type { Job } from '../core/model.js';
import { autoDeployTargets, createGitHubDeployment, describeOutcome, type MergedPullRequest } from './create-deployment.js';
import type { GitHubHandlerOptions } from './handle-github-delivery.js';
import { OwnDeployments } from './own-deployments.js';

/**
 * Creates the GitHub deployments a merged pull request asks for (the apps' auto_deploy rules) and
 * says so in each app's notify room, on each platform it names. Each create call is recorded on
 * Deckhand's side before it is made and when it answers, so the `deployment` event that follows is
 * known as Deckhand's own (and run, requested by whoever merged) while a look-alike payload from
 * anyone else is not.
 */
export async function autoDeployMergedPullRequest(options: GitHubHandlerOptions, job: Job, deliveryId: string, pr: MergedPullRequest, log: Logger): Promise<void> {
  const own = new OwnDeployments(options);
  for (const target of autoDeployTargets(options.config, pr)) {
    // A retried job does not create a second deployment for a target it already handled.
    const step = `${deliveryId}:${target.app.name}:${target.environment}`;
    if (await options.store.isSeen('github-auto-deploy', step)) continue;
    const repository = target.app.repository ?? '';
    // An earlier attempt that stopped mid-call left its key "creating": a deployment GitHub made for
    // it is an orphan now (this attempt makes a new one), so its event must not wait for it forever.
    for (let attempt = 1; attempt < job.attempts; attempt++) await own.abandonUnsettled(repository, `${step}:${attempt}`);
    const requestKey = `${step}:${job.attempts}`;
    const octokit = await options.octokit();
    await own.creating(repository, requestKey);
    let outcome;
    try {
      outcome = await createGitHubDeployment(octokit, options.config, target, pr, requestKey);
    } catch (err) {
      await own.abandoned(repository, requestKey);
      throw err;
    }
    await own.settled(repository, requestKey, outcome.kind === 'created' ? outcome.id : null);
    await options.store.markSeen('github-auto-deploy', step, options.clock.now().toISOString());
    log.info({ outcome }, 'auto-deploy of a merged pull request');
    const chat = options.chat();
    if (!chat) continue;
    // As before, a notice that could not be posted fails the job (its retry creates nothing again);
    // every platform is tried first.
    const failures = await postAppNotice(chat, target.app, describeOutcome(outcome, pr));
    if (failures.length > 0) throw (failures[0] as { error: unknown }).error;
  }
}
