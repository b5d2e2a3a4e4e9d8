import { z } from 'zod';
import { deploymentLine } from '../src/chat/format.js';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'deploys',
  summary: 'List recent deployments of an app',
  phrases: ['deploys <app> [in <environment>]'],
  args: z.object({ app: z.string().toLowerCase(), environment: z.string().toLowerCase().optional() }),
  examples: ['deploys api', 'deploys api in production'],
  async run(args, { actions, clock }) {
    const { app, environment, deployments } = await actions.recentDeployments(args.app, args.environment);
    const where = environment ? ` to ${environment}` : '';
    if (deployments.length === 0) return `No deployments of ${app}${where} yet.`;
    return [`Recent deployments of ${app}${where}:`, ...deployments.map((d) => `  ${deploymentLine(d, clock.now())}`)].join('\n');
  },
});
