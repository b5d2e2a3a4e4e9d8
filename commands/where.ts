import { z } from 'zod';
import { holdDeadline } from '../src/core/holds.js';
import { describeLock } from '../src/core/locks.js';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'where',
  summary: 'Show where an app can be deployed, and what runs there',
  phrases: ['where can i deploy <app>'],
  args: z.object({ app: z.string().toLowerCase() }),
  examples: ['where can i deploy api'],
  async run(args, { actions, actor, clock }) {
    const { app, targets } = await actions.whereCanDeploy(actor, args.app);
    const lines = targets.map((t) => {
      const notes = [
        t.isDefault ? 'default' : null,
        t.protected ? 'protected' : null,
        t.allowed ? null : 'you may not deploy here',
        t.lock ? describeLock(t.lock, clock.now()) : null,
        t.hold ? `held by interrupted #${t.hold.deployment.id} until ${holdDeadline(t.hold, clock.now())} at the latest (see "holds")` : null,
      ].filter(Boolean);
      const live = t.live ? `live: ${t.live.ref} (#${t.live.id})` : 'nothing deployed yet';
      return `  ${t.environment} — ${live}${notes.length ? `; ${notes.join('; ')}` : ''}`;
    });
    return [`${app} can be deployed to:`, ...lines].join('\n');
  },
});
