import type { ChatPort } from '../chat/chat-port.js';
import { postAppNotice } from '../chat/post-app-notice.js';
import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { httpStatusFor, type DeckhandError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import { OwnDeployments } from './own-deployments.js';
import type { StatusJob } from './status-reporter.js';

export interface Refusal {
  repository: string;
  githubId: number;
  app: string;
  environment: string;
  requestedBy: string;
  error: DeckhandError;
}

/**
 * A GitHub deployment Deckhand would not run (no permission, a lock, a failed check, ...): the
 * reason goes onto the GitHub deployment as a `failure` status (`error` when Deckhand itself
 * failed), so whoever created it sees it there, and into the app's notify room on each platform
 * (`notify: { slack, teams }`). The status is a
 * durable `github-status` job like every other, so a GitHub outage delays it without losing it.
 */
export async function reportRefusal(deps: { store: Store; clock: Clock; config: DeckhandConfig; logger: Logger; chat: () => ChatPort | null }, refusal: Refusal): Promise<void> {
  const { repository, githubId, error } = refusal;
  const payload: StatusJob = {
    repository,
    githubId,
    state: httpStatusFor(error) < 500 ? 'failure' : 'error',
    description: `Deckhand did not run it: ${error.message}`,
  };
  await deps.store.enqueueJob({
    type: 'github-status',
    // Once per GitHub deployment, however often its event is retried or redelivered.
    key: `github-refusal:${repository.toLowerCase()}#${githubId}`,
    payload,
    runAt: deps.clock.now().toISOString(),
    maxAttempts: 8,
  });
  // Written right after the job: that status is Deckhand's own word, not news to mirror.
  await new OwnDeployments(deps).refused(repository, githubId);

  const app = deps.config.apps[refusal.app];
  const chat = deps.chat();
  if (!app || !chat) return;
  const text = `GitHub deployment ${githubId} of ${refusal.app} to ${refusal.environment} (requested by ${refusal.requestedBy}) was not run: ${error.message}`;
  // The status is what matters; a chat hiccup must not run the refusal again.
  for (const failure of await postAppNotice(chat, app, text)) {
    deps.logger.warn({ err: failure.error, githubId, platform: failure.platform, channel: failure.channel }, 'could not post a refused GitHub deployment to chat');
  }
}
