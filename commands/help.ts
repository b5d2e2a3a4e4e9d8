import { z } from 'zod';
import { renderCommandHelp, renderHelp, renderUnknown } from '../src/router/help.js';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'help',
  summary: 'List the commands, or explain one',
  phrases: ['help [<topic...>]'],
  args: z.object({ topic: z.string().optional() }),
  examples: ['help', 'help deploy'],
  run(args, { router, config }) {
    if (!args.topic) return renderHelp(router, config.bot.name);
    const command = router.find(args.topic);
    if (!command) return renderUnknown(args.topic, router.suggest(args.topic));
    return renderCommandHelp(router, command);
  },
});
