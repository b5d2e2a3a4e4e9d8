import { z } from 'zod';
import { configFileSchema } from '../config/schema.js';
import { reactionFileSchema } from '../reactions/schema.js';

/**
 * JSON Schemas of the two file formats, for editors (e.g. `# yaml-language-server: $schema=...`).
 * Generated from the zod schemas that validate the files, so they cannot drift.
 */
export function jsonSchemas(): Record<'reaction' | 'config', unknown> {
  const options = { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' } as const;
  return {
    reaction: { title: 'Deckhand reaction', ...z.toJSONSchema(reactionFileSchema, options) },
    config: { title: 'Deckhand configuration (deckhand.yaml)', ...z.toJSONSchema(configFileSchema, options) },
  };
}
