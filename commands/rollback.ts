import { z } from 'zod';
import { deploymentTitle } from '../src/chat/format.js';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'rollback',
  summary: 'Redeploy the previous successful ref of an app in an environment',
  phrases: ['rollback <app> [in <environment>]'],
  args: z.object({ app: z.string().toLowerCase(), environment: z.string().toLowerCase().optional() }),
  examples: ['rollback api in production'],
  permission: 'deploy:<environment>',
  async confirm(args, { actions }) {
    const { app, environment, plan } = await actions.previewRollback(args);
    if (!plan) return null; // run() explains that there is nothing to roll back to
    return `Roll back ${app} in ${environment} from ${plan.current.ref} (#${plan.current.id}) to ${plan.previous.ref} (#${plan.previous.id})?`;
  },
  async run(args, { actions, actor }) {
    const result = await actions.rollback(actor, args);
    const wait = result.approval
      ? ` It needs approval: an approver says "approve ${result.deployment.id}".`
      : result.waitingFor
        ? ` It starts when #${result.waitingFor.id} is done.`
        : '';
    return `Rolling back: deployment ${deploymentTitle(result.deployment)} queued.${wait}`;
  },
});
