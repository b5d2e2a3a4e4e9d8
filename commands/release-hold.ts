import { z } from 'zod';
import { scriptWhereabouts } from '../src/core/holds.js';
import { defineCommand } from '../src/router/types.js';

const rest = '<app> [in <environment>]';

export default defineCommand({
  id: 'release-hold',
  summary: 'End the hold an interrupted deployment keeps on its target, so the next deployment starts',
  description:
    'Only when you know the interrupted deployment\'s script is no longer running (see "holds"): the next deployment of the target starts at once. Asks first; audited. Without an environment: the one where the app is held.',
  phrases: [`release hold ${rest}`, 'release hold <app> to <environment>'],
  args: z.object({ app: z.string().toLowerCase(), environment: z.string().toLowerCase().optional() }),
  examples: ['release hold api in production', 'release hold api'],
  permission: 'force:<environment>',
  async confirm(args, { actions, actor }) {
    // Checks the target, the permission and that something holds it before asking.
    const { app, environment, holds } = await actions.previewReleaseHold(actor, args);
    const which = holds.map((h) => `#${h.deployment.id} was interrupted and ${scriptWhereabouts(h.process)}`).join('; ');
    return `Release the hold on ${app} in ${environment}? ${which}. The next deployment there starts at once — the script may still be running.`;
  },
  async run(args, { actions, actor }) {
    const { app, environment, released } = await actions.releaseHold(actor, args);
    const ids = released.map((h) => `#${h.deployment.id}`).join(', ');
    return { text: `Released the hold on ${app} in ${environment} (kept by ${ids}); its next deployment may start now. Audited.`, tone: 'success' };
  },
});
