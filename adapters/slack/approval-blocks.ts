import type { KnownBlock } from '@slack/types';
import type { Approval, Deployment } from '../../src/core/model.js';
import { escapeMrkdwn } from './deployment-blocks.js';

export const approveActionId = 'deckhand_approve';
export const denyActionId = 'deckhand_deny';

const mention = (id: string | null) => (id && /^[UW][A-Z0-9]{2,}$/.test(id) ? `<@${id}>` : escapeMrkdwn(id ?? 'nobody'));

const outcome: Record<Exclude<Approval['state'], 'pending'>, string> = {
  approved: ':white_check_mark: Approved',
  denied: ':no_entry_sign: Denied',
  expired: ':hourglass: Expired',
};

/** The approval request: Approve / Cancel buttons while pending, the decision (and no buttons) after. */
export function approvalMessage(approval: Approval, d: Deployment, approvers: readonly string[]): { text: string; blocks: KnownBlock[] } {
  const target = `#${d.id} ${d.app}/${d.ref} to ${d.environment}`;
  const who = approvers.map((a) => (a.startsWith('role:') ? `the ${a.slice(5)} role` : mention(a))).join(', ') || `anyone with approve:${d.environment}`;
  const head: KnownBlock = {
    type: 'section',
    text: { type: 'mrkdwn', text: `:raised_hand: *Approval needed* for deployment ${escapeMrkdwn(target)}, requested by ${mention(d.requestedBy)}.\nApprovers: ${who}.` },
  };
  if (approval.state === 'pending') {
    return {
      text: `Deployment ${target} needs approval`,
      blocks: [
        head,
        {
          type: 'actions',
          block_id: `approval:${approval.id}`,
          elements: [
            { type: 'button', action_id: approveActionId, text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: String(d.id) },
            { type: 'button', action_id: denyActionId, text: { type: 'plain_text', text: 'Cancel' }, style: 'danger', value: String(d.id) },
          ],
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `Expires at ${approval.expiresAt.slice(0, 16).replace('T', ' ')} UTC` }] },
      ],
    };
  }
  const by = approval.state === 'expired' ? '' : ` by ${mention(approval.decidedBy)}`;
  return {
    text: `Deployment ${target}: ${approval.state}`,
    blocks: [head, { type: 'section', text: { type: 'mrkdwn', text: `${outcome[approval.state]}${by} at ${(approval.decidedAt ?? '').slice(11, 16)} UTC.` } }],
  };
}
