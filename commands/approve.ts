import { z } from 'zod';
import { deploymentTitle } from '../src/chat/format.js';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'approve',
  summary: 'Approve (or deny) a deployment waiting for approval',
  description: 'Deployments to protected environments wait for an approver. In Slack the Approve / Cancel buttons do the same.',
  phrases: [
    { pattern: 'approve <deployment>', set: { decision: 'approve' } },
    { pattern: 'deny <deployment>', set: { decision: 'deny' } },
  ],
  args: z.object({
    deployment: z.string().regex(/^#?\d+$/, 'give the deployment number, e.g. 42 or #42').transform((d) => Number(d.replace('#', ''))),
    decision: z.enum(['approve', 'deny']),
  }),
  examples: ['approve 42', 'deny #42'],
  permission: 'approve:<environment> or listed in the environment\'s approvers',
  async run(args, { actions, actor }) {
    const { approval, deployment } = await actions.decideApproval(actor, { deploymentId: args.deployment, decision: args.decision });
    return approval.state === 'approved'
      ? { text: `Approved ${deploymentTitle(deployment)}; it starts when its turn comes.`, tone: 'success' }
      : { text: `Denied ${deploymentTitle(deployment)}; it will not run.`, tone: 'info' };
  },
});
