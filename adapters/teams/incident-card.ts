import type { Incident } from '../../src/core/model.js';
import type { OutgoingActivity } from './connector.js';

/** The verbs of an incident card's Action.Execute buttons; `data.entityId` says which incident. */
export const ackIncidentVerb = 'incident_ack';
export const resolveIncidentVerb = 'incident_resolve';

const icon = { triggered: '🚨', acknowledged: '👀', resolved: '✅' } as const;
const color = { triggered: 'Attention', acknowledged: 'Warning', resolved: 'Good' } as const;

/**
 * The one Adaptive Card per incident (per generation of an entity) in oncall.teams, what Slack's
 * incident message shows: Acknowledge while triggered, Resolve until resolved (Action.Execute, as
 * the clicking user), updated in place as the incident moves on. `notice`: a line for the clicker
 * only (the invoke response), saying why the click did nothing.
 */
export function incidentCard(incident: Incident, notice?: string): OutgoingActivity {
  const name = incident.number ? `Incident ${incident.number}` : 'Incident';
  const by = incident.by && incident.phase !== 'triggered' ? ` by ${incident.by}` : '';
  const body: unknown[] = [{ type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, color: color[incident.phase], text: `${icon[incident.phase]} ${name}: ${incident.title} — ${incident.phase}${by}` }];
  if (incident.message) body.push({ type: 'TextBlock', wrap: true, text: incident.message.length > 2800 ? `${incident.message.slice(0, 2800)}…` : incident.message });
  body.push({ type: 'TextBlock', wrap: true, isSubtle: true, size: 'Small', text: [`entity ${incident.entityId}`, incident.routingKey ? `routing key ${incident.routingKey}` : null].filter(Boolean).join(' · ') });
  if (notice) body.push({ type: 'TextBlock', wrap: true, color: 'Attention', weight: 'Bolder', text: `⚠️ ${notice}` });
  const data = { entityId: incident.entityId };
  const actions = [
    ...(incident.phase === 'triggered' ? [{ type: 'Action.Execute', title: 'Acknowledge', verb: ackIncidentVerb, data, style: 'positive' }] : []),
    ...(incident.phase !== 'resolved' ? [{ type: 'Action.Execute', title: 'Resolve', verb: resolveIncidentVerb, data, style: 'destructive' }] : []),
  ];
  return {
    type: 'message',
    text: `${name}: ${incident.title} — ${incident.phase}${by}`,
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5', body, ...(actions.length ? { actions } : {}) },
      },
    ],
  };
}
