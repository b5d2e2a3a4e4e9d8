import { OutputBatcher } from '../../src/chat/output-batcher.js';
import type { WebClient } from '@slack/web-api';
import type { DeckhandConfig } from '../../src/config/types.js';
import type { Clock } from '../../src/core/clock.js';
import type { AnyEvent } from '../../src/core/events.js';
import type { Logger } from '../../src/core/logger.js';
import type { KnownBlock } from '@slack/types';
import type { Store } from '../../src/store/types.js';
import type { Approval, Deployment, Incident } from '../../src/core/model.js';
import { logLinkFor } from '../../src/http/deployment-log-route.js';
import { addReaction } from './add-reaction.js';
import { approvalMessage } from './approval-blocks.js';
import type { ChannelQueue } from './channel-queue.js';
import { deploymentMessage, escapeMrkdwn } from './deployment-blocks.js';
import { incidentMessage } from './incident-blocks.js';

export interface DeploymentNotifierOptions {
  client: WebClient;
  store: Store;
  config: DeckhandConfig;
  queue: ChannelQueue;
  logger: Logger;
  clock: Clock;
  /** Deckhand's public base URL, for the log link (resolved late: the port may be chosen at listen). */
  publicUrl?: () => string;
  /** How often buffered output is posted to the thread; default 2 s. */
  outputFlushMs?: number;
  /** Lines kept per flush; earlier ones are summarised as "… N lines". Default 100. */
  maxLinesPerPost?: number;
}

/** Emoji added to the requesting message as the deployment moves on. */
export const reactionFor: Record<string, string> = {
  'deployment.queued': 'eyes',
  'deployment.started': 'rocket',
  'deployment.succeeded': 'white_check_mark',
  'deployment.failed': 'x',
  'deployment.cancelled': 'no_entry_sign',
};

const slackTs = /^\d+\.\d+$/;

/**
 * Turns deployment events into Slack: one message per deployment in the app's notice channel,
 * edited in place; reactions on the message that asked for it; the script's output, batched,
 * in that message's thread. Everything goes through the per-channel queue: messages as notices
 * (a person's reply goes first), emoji in their own lane.
 */
export class DeploymentNotifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly output: OutputBatcher<string>;

  constructor(private readonly options: DeploymentNotifierOptions) {
    this.output = new OutputBatcher<string>(
      (deploymentId, { target: channel, text }) => this.track(this.options.queue.enqueue(channel, { run: () => this.postInThread(deploymentId, `\`\`\`${escapeMrkdwn(text)}\`\`\``) })),
      { flushMs: options.outputFlushMs, maxLines: options.maxLinesPerPost },
    );
  }

  /** Where a deployment's notices go: the app's `notify`, else the Slack room it was asked in. */
  channelFor(d: Deployment): string | null {
    return this.options.config.apps[d.app]?.notify ?? (d.origin?.adapter === 'slack' ? d.origin.room : null);
  }

  onEvent = (event: AnyEvent): void => {
    if (event.type.startsWith('incident.')) return this.onIncident((event.data as { incident: Incident }).incident);
    if (event.type.startsWith('approval.')) return this.onApproval(event.data as { approval: Approval; deployment: Deployment });
    if (!event.type.startsWith('deployment.')) return;
    const d = (event.data as { deployment: Deployment }).deployment;
    const channel = this.channelFor(d);
    if (channel) {
      // Not awaited: the runner must not wait for Slack; the queue keeps order and retries.
      this.track(this.options.queue.enqueue(channel, { key: `deployment:${d.id}`, run: () => this.upsert(channel, d) }));
      if (d.state !== 'queued' && d.state !== 'running') this.output.flushNow(d.id);
    }
    const reaction = reactionFor[event.type];
    if (reaction && d.origin?.adapter === 'slack' && slackTs.test(d.origin.messageId)) {
      const { room, messageId } = d.origin;
      this.track(this.options.queue.enqueue(room, { priority: 'reaction', run: () => addReaction(this.options.client, room, messageId, reaction) }));
    }
  };

  onOutput = (d: Deployment, line: string): void => {
    const channel = this.channelFor(d);
    if (channel) this.output.add(d.id, channel, line);
  };

  /** Resolves when everything handed to Slack so far has been sent (or given up). */
  async settle(): Promise<void> {
    this.output.flushAll();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** One message per incident (per generation of an entity) in oncall.channel, edited as it moves on. */
  private onIncident(incident: Incident): void {
    const channel = this.options.config.oncall.channel;
    if (!channel) return;
    const key = `${incident.entityId}#${incident.generation}`;
    this.track(this.options.queue.enqueue(channel, { key: `incident:${key}`, run: () => this.upsertMessage('incident', key, channel, incidentMessage(incident)) }));
  }

  /** One message per approval request, posted where the deployment's notices go and edited when decided. */
  private onApproval({ approval, deployment }: { approval: Approval; deployment: Deployment }): void {
    const channel = this.channelFor(deployment);
    if (!channel) return;
    const approvers = this.options.config.environments[deployment.environment]?.approvers ?? [];
    const message = approvalMessage(approval, deployment, approvers);
    this.track(this.options.queue.enqueue(channel, { key: `approval:${approval.id}`, run: () => this.upsertMessage('approval', String(approval.id), channel, message) }));
  }

  private async upsert(channel: string, d: Deployment): Promise<void> {
    const environmentUrl = d.external?.environmentUrl ?? this.options.config.apps[d.app]?.urls[d.environment];
    await this.upsertMessage('deployment', String(d.id), channel, deploymentMessage(d, { logUrl: logLinkFor(this.options.publicUrl?.(), d), environmentUrl }));
  }

  /** Edits the message remembered for (kind, key), or posts it and remembers it. */
  private async upsertMessage(kind: string, key: string, channel: string, message: { text: string; blocks: KnownBlock[] }): Promise<void> {
    const { client, store, clock } = this.options;
    const ref = await store.findMessage(kind, key, 'slack');
    if (ref) {
      await client.chat.update({ channel: ref.channel, ts: ref.ts, ...message });
      return;
    }
    const posted = await client.chat.postMessage({ channel, ...message, unfurl_links: false });
    if (posted.channel && posted.ts) {
      await store.rememberMessage({ kind, key, adapter: 'slack', channel: posted.channel, ts: posted.ts, updatedAt: clock.now().toISOString() });
    }
  }

  private async postInThread(deploymentId: number, text: string): Promise<void> {
    const ref = await this.options.store.findMessage('deployment', String(deploymentId), 'slack');
    if (!ref) {
      this.options.logger.warn({ deploymentId }, 'no deployment message to thread the output under');
      return;
    }
    await this.options.client.chat.postMessage({ channel: ref.channel, thread_ts: ref.ts, text });
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((err) => this.options.logger.error({ err }, 'slack notice was not delivered'))
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
