import { z } from 'zod';
import { lockTarget } from '../src/core/locks.js';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'unlock',
  summary: 'Release a lock',
  phrases: ['unlock <environment> [<app>]'],
  args: z.object({ environment: z.string().toLowerCase(), app: z.string().toLowerCase().optional() }),
  examples: ['unlock production', 'unlock staging api'],
  permission: 'lock:<environment>',
  async run(args, { actions, actor }) {
    const lock = await actions.unlock(actor, args);
    const whose = lock.holder === actor.id ? '' : ` (it was held by ${lock.holder})`;
    return { text: `Unlocked ${lockTarget(lock)}${whose}.`, tone: 'success' };
  },
});
