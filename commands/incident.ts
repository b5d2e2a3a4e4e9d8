import { z } from 'zod';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'incident',
  summary: 'Acknowledge or resolve a Splunk On-Call incident, as your own on-call user',
  description: 'The incident is its number or the entity id of its alerts. Your chat user must be mapped under oncall.users.',
  phrases: [
    { pattern: 'ack <incident> [<message...>]', set: { action: 'ack' } },
    { pattern: 'resolve <incident> [<message...>]', set: { action: 'resolve' } },
  ],
  args: z.object({ incident: z.string(), action: z.enum(['ack', 'resolve']), message: z.string().optional() }),
  examples: ['ack 42', 'ack 42 looking into it', 'resolve 42 disk cleaned up'],
  permission: 'a user mapped under oncall.users',
  async run(args, { actions, actor }) {
    const { number, userName } = await actions.actOnIncident(actor, args);
    return { text: `Incident ${number} ${args.action === 'ack' ? 'acknowledged' : 'resolved'} as ${userName}.`, tone: 'success' };
  },
});
