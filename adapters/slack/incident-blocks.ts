import type { KnownBlock } from '@slack/types';
import type { Incident } from '../../src/core/model.js';
import { escapeMrkdwn } from './deployment-blocks.js';

export const ackIncidentActionId = 'deckhand_incident_ack';
export const resolveIncidentActionId = 'deckhand_incident_resolve';

const icon = { triggered: ':rotating_light:', acknowledged: ':eyes:', resolved: ':white_check_mark:' } as const;

/** The one message per incident: Acknowledge / Resolve while open, edited as it moves on. */
export function incidentMessage(incident: Incident): { text: string; blocks: KnownBlock[] } {
  const name = incident.number ? `Incident ${incident.number}` : 'Incident';
  const by = incident.by && incident.phase !== 'triggered' ? ` by ${escapeMrkdwn(incident.by)}` : '';
  const headline = `${icon[incident.phase]} *${name}*: ${escapeMrkdwn(incident.title)} — *${incident.phase}*${by}`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: headline } }];
  if (incident.message) {
    const message = incident.message.length > 2800 ? `${incident.message.slice(0, 2800)}…` : incident.message;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(message) } });
  }
  const buttons = [
    ...(incident.phase === 'triggered' ? [{ type: 'button' as const, action_id: ackIncidentActionId, text: { type: 'plain_text' as const, text: 'Acknowledge' }, style: 'primary' as const, value: incident.entityId }] : []),
    ...(incident.phase !== 'resolved' ? [{ type: 'button' as const, action_id: resolveIncidentActionId, text: { type: 'plain_text' as const, text: 'Resolve' }, style: 'danger' as const, value: incident.entityId }] : []),
  ];
  if (buttons.length > 0) blocks.push({ type: 'actions', block_id: `incident:${incident.entityId.slice(0, 200)}`, elements: buttons });
  const context = [`entity ${incident.entityId}`, incident.routingKey ? `routing key ${incident.routingKey}` : null].filter(Boolean).join(' · ');
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(context) }] });
  return { text: `${name}: ${incident.title} — ${incident.phase}${incident.by && incident.phase !== 'triggered' ? ` by ${incident.by}` : ''}`, blocks };
}
