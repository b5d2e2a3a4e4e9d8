import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';

/** Git-ref-like names: no spaces, no "..", no leading "-" (so a ref can never look like an option). */
export const refSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._/@+-]*$/, 'a ref is a branch, tag or commit: letters, digits and . _ / @ + -')
  .refine((ref) => !ref.includes('..') && !ref.endsWith('/') && !ref.endsWith('.lock'), 'that is not a valid git ref');

export const versionSchema = z
  .string()
  .max(100)
  .regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/, 'a version looks like 1.4.0 or 2026.11.23-rc1');

export const nameSchema = z.string().min(1).max(100);

/** Validates action input once, at the action boundary, turning zod issues into a usage error. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new DeckhandError(ErrorCode.Usage, problems.join('; '), { problems });
  }
  return result.data;
}
