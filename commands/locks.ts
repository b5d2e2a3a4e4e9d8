import { z } from 'zod';
import { describeLock } from '../src/core/locks.js';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'locks',
  summary: 'List the locks in place',
  phrases: ['locks'],
  args: z.object({}),
  examples: ['locks'],
  async run(_args, { actions, clock }) {
    const locks = await actions.listLocks();
    if (locks.length === 0) return 'Nothing is locked.';
    return ['Locks:', ...locks.map((l) => `  ${describeLock(l, clock.now())}`)].join('\n');
  },
});
