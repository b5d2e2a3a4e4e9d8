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
  description: 'For Octopus apps the release is created in Octopus, each package at its newest version unless named: "with web=1.4.0 worker=2.0.1".',
  examples: ['create release api 1.4.0', 'create release web 2.7.0 "Faster checkout"', 'create release web 2.7.1 with web=2.7.1'],
  permission: 'release:<app>',
  async run(args, { actions, actor }) {
    const packages = packagesIn(args.notes);
    const { release, url, packages: chosen } = await actions.createRelease(actor, { app: args.app, version: args.version, ...(packages ? { packages } : args.notes ? { notes: args.notes } : {}) });
    const lines = [`Release ${release.app} ${release.version} created${release.notes ? `: ${release.notes}` : ''}.`];
    const list = Object.entries(chosen).map(([id, version]) => `${id} ${version}`);
    if (list.length > 0) lines.push(`Packages: ${list.join(', ')}.`);
    if (url) lines.push(url);
    return { text: lines.join('\n'), tone: 'success' };
  },
});

/** "with web=1.4.0 worker=2.0.1" (every word a package=version) names package versions; anything else is notes. */
function packagesIn(notes: string | undefined): Record<string, string> | null {
  const match = /^with\s+(.+)$/is.exec(notes ?? '');
  const words = match?.[1]?.split(/[\s,]+/).filter(Boolean) ?? [];
  if (words.length === 0 || !words.every((w) => /^[^=\s]+=[^=\s]+$/.test(w))) return null;
  return Object.fromEntries(words.map((w) => w.split('=') as [string, string]));
}
