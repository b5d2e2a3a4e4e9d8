import type { KnownBlock } from '@slack/types';
import { deploymentDuration } from '../../src/chat/format.js';
import type { Deployment } from '../../src/core/model.js';

const stateIcon: Record<Deployment['state'], string> = {
  queued: ':hourglass_flowing_sand:',
  running: ':rocket:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  cancelled: ':no_entry_sign:',
};

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack mention for Slack user ids, the plain id otherwise (shell:alice, scheduler, ...). */
function who(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** The one message that represents a deployment; rendered again and edited in place on every change. */
export function deploymentMessage(d: Deployment, links: { logUrl?: string | null | undefined; environmentUrl?: string | undefined } = {}): { text: string; blocks: KnownBlock[] } {
  const target = `${d.app}/${d.ref} to ${d.environment}`;
  const flags = [d.dryRun ? 'dry run' : null, d.forced ? 'forced' : null, d.rollbackOf ? `rollback of #${d.rollbackOf}` : null].filter(Boolean);
  const took = deploymentDuration(d);
  const headline = `${stateIcon[d.state]} *Deployment #${d.id}* ${escapeMrkdwn(target)} — *${d.state}*${took ? ` in ${took}` : ''}`;
  const fields = [
    `*App*\n${escapeMrkdwn(d.app)}`,
    `*Environment*\n${escapeMrkdwn(d.environment)}`,
    `*Ref*\n\`${escapeMrkdwn(d.ref)}\``,
    `*Requested by*\n${who(d.requestedBy)}`,
  ];
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: headline } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn' as const, text })) },
  ];
  if (d.reason && d.state !== 'succeeded') {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Why:* ${escapeMrkdwn(d.reason)}` } });
  }
  if (d.state === 'failed' && d.logTail) {
    // Section text is limited to 3000 characters; keep the end, where the error is.
    const tail = d.logTail.length > 2800 ? `…${d.logTail.slice(-2800)}` : d.logTail;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${escapeMrkdwn(tail)}\`\`\`` } });
  }
  const source = d.external && d.provider.startsWith('external:') ? `${d.source} from ${d.external.system}` : d.source;
  const context = escapeMrkdwn([`${source}${flags.length ? ` · ${flags.join(' · ')}` : ''}`, ...(d.provider.startsWith('external:') ? [] : ['output in the thread'])].join(' · '));
  const where = d.external?.system === 'github' ? 'GitHub' : d.external ? d.external.system : null;
  const link = [
    links.logUrl ? `<${links.logUrl}|full log>` : null,
    links.environmentUrl && d.state === 'succeeded' ? `<${links.environmentUrl}|open ${escapeMrkdwn(d.environment)}>` : null,
    where && d.external?.url ? `${where} deployment ${escapeMrkdwn(d.external.id)}` : null,
  ]
    .filter(Boolean)
    .map((part) => ` · ${part}`)
    .join('');
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${context}${link}` }] });
  return { text: `Deployment #${d.id} ${target}: ${d.state}`, blocks };
}
