import { deploymentDuration } from '../../src/chat/format.js';
import type { Deployment } from '../../src/core/model.js';
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

/**
 * The one Adaptive Card (schema 1.5, which Teams renders) that stands for a deployment asked for
 * on Teams; sent once and updated in place (PUT …/activities/{id}) on every change. Only
 * Action.OpenUrl buttons: Approve / Deny as Action.Execute are not there yet.
 */
export function deploymentCard(d: Deployment, links: { logUrl?: string | null | undefined; environmentUrl?: string | undefined } = {}): OutgoingActivity {
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
  const actions = [
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
