import type { Logger } from '../core/logger.js';
import type { Job } from '../core/model.js';
import { autoDeployTargets, createGitHubDeployment, describeOutcome, type MergedPullRequest } from './create-deployment.js';
import type { GitHubHandlerOptions } from './handle-github-delivery.js';
import { OwnDeployments } from './own-deployments.js';

/**
 * Creates the GitHub deployments a merged pull request asks for (the apps' auto_deploy rules) and
 * says so in each app's notify room. Each create call is recorded on Deckhand's side before it is
 * made and when it answers, so the `deployment` event that follows is known as Deckhand's own (and
 * run, requested by whoever merged) while a look-alike payload from anyone else is not.
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
    await own.creating(repository, requestKey);
    let outcome;
    try {
      outcome = await createGitHubDeployment(options.octokit, options.config, target, pr, requestKey);
    } catch (err) {
      await own.abandoned(repository, requestKey);
      throw err;
    }
    await own.settled(repository, requestKey, outcome.kind === 'created' ? outcome.id : null);
    await options.store.markSeen('github-auto-deploy', step, options.clock.now().toISOString());
    log.info({ outcome }, 'auto-deploy of a merged pull request');
    const channel = target.app.notify;
    const chat = options.chat();
    if (channel && chat) await chat.post(channel, describeOutcome(outcome, pr));
  }
}
