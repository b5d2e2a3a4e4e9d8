import { z } from 'zod';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'oncall',
  summary: 'Who is on call now (Splunk On-Call)',
  phrases: ['who is on call [<team...>]', 'oncall [<team...>]'],
  args: z.object({ team: z.string().optional() }),
  examples: ['who is on call', 'who is on call platform'],
  async run(args, { actions }) {
    const teams = await actions.whoIsOnCall(args.team);
    if (teams.length === 0) return 'Nobody is on call in Splunk On-Call right now.';
    const lines = teams.flatMap((t) => [
      `${t.team.name}:`,
      ...(t.policies.length ? t.policies.map((p) => `  ${p.name}: ${p.users.join(', ') || 'nobody'}`) : ['  nobody']),
    ]);
    return lines.join('\n');
  },
});
