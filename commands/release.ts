import { z } from 'zod';
import { defineCommand } from '../src/router/types.js';

export default defineCommand({
  id: 'release',
  summary: 'Create a release of an app',
  phrases: ['create release <app> <version> [<notes...>]'],
  args: z.object({
    app: z.string().toLowerCase(),
    version: z.string(),
    // Quotes around the notes are optional: "Faster checkout" and Faster checkout read the same.
    notes: z
      .string()
      .transform((n) => n.replace(/^["“](.*)["”]$/s, '$1'))
      .optional(),
  }),
  examples: ['create release api 1.4.0', 'create release web 2.7.0 "Faster checkout"'],
  permission: 'release:<app>',
  async run(args, { actions, actor }) {
    const release = await actions.createRelease(actor, args);
    return { text: `Release ${release.app} ${release.version} created${release.notes ? `: ${release.notes}` : ''}.`, tone: 'success' };
  },
});
