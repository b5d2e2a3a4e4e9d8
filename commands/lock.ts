import { z } from 'zod';
import { lockTarget } from '../src/core/locks.js';
import { defineCommand } from '../src/router/types.js';

const rest = '<environment> [<app>] [because <reason...>]';

export default defineCommand({
  id: 'lock',
  summary: 'Lock an environment (or one app in it) so nobody else deploys there',
  description: 'lock! takes over a lock someone else holds; they are told, and it is audited.',
  phrases: [`lock ${rest}`, { pattern: `lock! ${rest}`, set: { takeover: true } }],
  args: z.object({
    environment: z.string().toLowerCase(),
    app: z.string().toLowerCase().optional(),
    reason: z.string().optional(),
    takeover: z.boolean().default(false),
  }),
  examples: ['lock production because db migration', 'lock staging api', 'lock! production because incident 4521'],
  permission: 'lock:<environment>',
  confirm: (args) => (args.takeover ? `Take over the lock on ${lockTarget({ environment: args.environment, app: args.app ?? null })} from its holder?` : null),
  async run(args, { actions, actor }) {
    const { lock, previous } = await actions.lock(actor, args);
    const took = previous && previous.holder !== actor.id ? ` (taken over from ${previous.holder}, who has been told)` : '';
    return { text: `Locked ${lockTarget(lock)}${lock.reason ? ` because ${lock.reason}` : ''}${took}.`, tone: 'success' };
  },
});
