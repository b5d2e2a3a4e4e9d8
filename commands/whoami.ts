import { z } from 'zod';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'whoami',
  summary: 'Show who you are to Deckhand and what you may do',
  phrases: ['whoami'],
  args: z.object({}),
  examples: ['whoami'],
  run(_args, { actions, actor }) {
    const me = actions.whoami(actor);
    if (me.roles.length === 0) return `You are ${me.id}. You have no roles, so you can look but not deploy; ask an admin to add ${me.id} to a role.`;
    return `You are ${me.id}. Roles: ${me.roles.join(', ')}. Permissions: ${me.grants.join(', ')}.`;
  },
});
