import { z } from 'zod';
import { describeHold, releaseHint } from '../src/core/holds.js';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'holds',
  summary: 'List the targets held by an interrupted deployment whose script may still be running',
  description:
    'When the Deckhand running a deployment stops before it finishes, the deployment is marked "interrupted — outcome unknown" and its app and environment stay held until its script has ended or its timeout has passed, so two deploy scripts never run on one target.',
  phrases: ['holds'],
  args: z.object({}),
  examples: ['holds'],
  async run(_args, { actions, clock }) {
    const holds = await actions.listHolds();
    if (holds.length === 0) return 'Nothing is held: every target can deploy as usual.';
    const now = clock.now();
    return ['Held targets (deployments there wait):', ...holds.map((h) => `  ${describeHold(h, now)}\n    ${releaseHint(h)}`)].join('\n');
  },
});
