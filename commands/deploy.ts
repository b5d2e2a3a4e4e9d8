import { z } from 'zod';
import { deploymentTitle } from '../src/chat/format.js';
import { describeHold, releaseHint } from '../src/core/holds.js';
import { defineCommand } from '../src/router/types.js';

const target = '<app>[/<ref>] [to <environment>]';

export default defineCommand({
  id: 'deploy',
  summary: 'Deploy an app (default ref and environment from the config)',
  description:
    'deploy! goes ahead although a pre-deploy check failed (needs force:<environment>); --dry-run (or noop) runs the deploy script in its dry-run mode, changing nothing.',
  phrases: [
    `deploy ${target}`,
    // Octopus apps: a release version as its own word ("deploy web 1.4.0 to prod").
    `deploy <app> <ref> [to <environment>]`,
    { pattern: `deploy ${target} --dry-run`, set: { dryRun: true } },
    { pattern: `deploy! ${target}`, set: { force: true } },
    { pattern: `noop ${target}`, set: { dryRun: true } },
  ],
  args: z.object({
    app: z.string().toLowerCase(),
    ref: z.string().optional(),
    environment: z.string().toLowerCase().optional(),
    force: z.boolean().default(false),
    dryRun: z.boolean().default(false),
  }),
  examples: ['deploy api', 'deploy web 1.4.0 to prod', 'deploy api/feature-x to staging', 'deploy api to prod', 'deploy! api/hotfix to production', 'deploy api to staging --dry-run'],
  permission: 'deploy:<environment> (and force:<environment> for deploy!)',
  async run(args, { actions, actor, clock }) {
    const { deployment, waitingFor, heldBy, forcedChecks, approval } = await actions.deploy(actor, { ...args, source: 'chat' });
    const lines = approval
      ? [`Deployment ${deploymentTitle(deployment)} needs approval (${deployment.environment} is protected). An approver says "approve ${deployment.id}"; the request expires at ${approval.expiresAt.slice(11, 16)} UTC.`]
      : [`Deployment ${deploymentTitle(deployment)} queued.`];
    if (deployment.external?.system === 'github') lines.push(`GitHub deployment ${deployment.external.id} created in ${deployment.external.repository}.`);
    if (forcedChecks.length) lines.push(`Forced past failed checks: ${forcedChecks.map((c) => c.check).join(', ')} (audited).`);
    if (waitingFor) lines.push(`It starts when #${waitingFor.id} (${waitingFor.ref}, ${waitingFor.state}) is done.`);
    if (heldBy) lines.push(`It waits: ${describeHold(heldBy, clock.now())} ${releaseHint(heldBy)}`);
    return { text: lines.join('\n'), tone: 'info' };
  },
});
