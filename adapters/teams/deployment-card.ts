import { deploymentDuration } from '../../src/chat/format.js';
import type { Approval, Deployment } from '../../src/core/model.js';
import type { OutgoingActivity } from './connector.js';

const stateIcon: Record<Deployment['state'], string> = {
  queued: '⏳',
  running: '🚀',
  succeeded: '✅',
  failed: '❌',
  cancelled: '⛔',
};

const stateColor: Record<Deployment['state'], string> = {
  queued: 'Default',
  running: 'Accent',
  succeeded: 'Good',
  failed: 'Attention',
  cancelled: 'Warning',
};

/** The verbs of the card's Action.Execute buttons (Universal Actions); `data.deploymentId` says which deployment. */
export const approveVerb = 'approve';
export const denyVerb = 'deny';

const decided: Record<Exclude<Approval['state'], 'pending'>, string> = {
  approved: '✅ Approved',
  denied: '⛔ Denied',
  expired: '⌛ Approval expired',
};

export interface CardExtras {
  logUrl?: string | null | undefined;
  environmentUrl?: string | undefined;
  /** The deployment's approval request, if it needed one, with the environment's approvers. */
  approval?: { approval: Approval; approvers: readonly string[] } | null | undefined;
  /** A line for the person who clicked only (the invoke response): why their click did nothing. */
  notice?: string | undefined;
}

/**
 * The one Adaptive Card (schema 1.5, which Teams renders) that stands for a deployment asked for
 * on Teams; sent once and updated in place (PUT …/activities/{id}) on every change. While an
 * approval is pending it carries Approve / Deny `Action.Execute` buttons (Universal Actions: Teams
 * sends an `adaptiveCard/action` invoke to the bot, which answers with the refreshed card); once
 * decided, who decided and when, and no buttons.
 */
export function deploymentCard(d: Deployment, links: CardExtras = {}): OutgoingActivity {
  const target = `${d.app}/${d.ref} to ${d.environment}`;
  const took = deploymentDuration(d);
  const facts = [
    { title: 'App', value: d.app },
    { title: 'Environment', value: d.environment },
    { title: 'Ref', value: d.ref },
    { title: 'Requested by', value: d.requestedBy },
    { title: 'State', value: d.state },
    ...(took ? [{ title: 'Duration', value: took }] : []),
  ];
  const body: unknown[] = [
    { type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, color: stateColor[d.state], text: `${stateIcon[d.state]} Deployment #${d.id} ${target} — ${d.state}${took ? ` in ${took}` : ''}` },
    { type: 'FactSet', facts },
  ];
  if (d.reason && d.state !== 'succeeded') body.push({ type: 'TextBlock', wrap: true, text: `Why: ${d.reason}` });
  if (d.state === 'failed' && d.logTail) {
    const tail = d.logTail.length > 2800 ? `…${d.logTail.slice(-2800)}` : d.logTail;
    body.push({ type: 'TextBlock', wrap: true, fontType: 'Monospace', text: tail });
  }
  const approval = links.approval?.approval;
  const pending = approval?.state === 'pending' && d.state === 'queued';
  if (approval && links.approval) {
    const who = links.approval.approvers.map((a) => (a.startsWith('role:') ? `the ${a.slice(5)} role` : a)).join(', ') || `anyone with approve:${d.environment}`;
    body.push(
      pending
        ? { type: 'TextBlock', wrap: true, weight: 'Bolder', text: `✋ Approval needed. Approvers: ${who}. Expires at ${approval.expiresAt.slice(0, 16).replace('T', ' ')} UTC.` }
        : approval.state !== 'pending'
          ? { type: 'TextBlock', wrap: true, text: `${decided[approval.state]}${approval.state === 'expired' ? '' : ` by ${approval.decidedBy ?? 'nobody'}`}${approval.decidedAt ? ` at ${approval.decidedAt.slice(11, 16)} UTC` : ''}.` }
          : { type: 'TextBlock', wrap: true, text: `Approval: ${approval.state}.` },
    );
  }
  if (links.notice) body.push({ type: 'TextBlock', wrap: true, color: 'Attention', weight: 'Bolder', text: `⚠️ ${links.notice}` });
  const actions = [
    ...(pending
      ? [
          { type: 'Action.Execute', title: 'Approve', verb: approveVerb, data: { deploymentId: d.id }, style: 'positive' },
          { type: 'Action.Execute', title: 'Deny', verb: denyVerb, data: { deploymentId: d.id }, style: 'destructive' },
        ]
      : []),
    ...(links.logUrl ? [{ type: 'Action.OpenUrl', title: 'Full log', url: links.logUrl }] : []),
    ...(links.environmentUrl && d.state === 'succeeded' ? [{ type: 'Action.OpenUrl', title: `Open ${d.environment}`, url: links.environmentUrl }] : []),
  ];
  return {
    type: 'message',
    // What notifications and clients without cards show.
    text: `Deployment #${d.id} ${target}: ${d.state}`,
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5', body, ...(actions.length ? { actions } : {}) },
      },
    ],
  };
}
