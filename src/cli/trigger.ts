import { readFileSync } from 'node:fs';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { AnyEvent } from '../core/events.js';
import { createRedactor } from '../providers/script/redact.js';
import { eventContext } from '../reactions/context.js';
import { compileFilter, type ConditionInput } from '../reactions/filter.js';
import type { LoadedReactions, Reaction } from '../reactions/load-reactions.js';
import { previewActions } from '../reactions/preview.js';

/** The context a reaction sees, built from a JSON file given on the command line. */
export function manualContext(reaction: Reaction, payloadFile: string | undefined, query: Record<string, string>, now: Date): Record<string, unknown> {
  let data: unknown = {};
  if (payloadFile) {
    try {
      data = JSON.parse(readFileSync(payloadFile, 'utf8')) as unknown;
    } catch (err) {
      throw new DeckhandError(ErrorCode.Usage, `--payload ${payloadFile}: ${(err as Error).message}`);
    }
  }
  const at = now.toISOString();
  if ('webhook' in reaction.on) {
    return { event: { id: 'manual', type: 'webhook', at, source: 'manual' }, trigger: reaction.on.webhook, payload: data, query, headers: {} };
  }
  if ('event' in reaction.on) {
    const type = [reaction.on.event].flat()[0];
    return eventContext({ id: 0, type, at, source: 'manual', data } as unknown as AnyEvent);
  }
  return { event: { id: at, type: 'schedule', at, source: 'manual' }, schedule: { name: reaction.name, tick: at } };
}

export function findReaction(loaded: LoadedReactions, name: string): Reaction {
  const known = [...loaded.reactions.map((r) => r.name), ...loaded.disabled.map((d) => `${d.name} (off)`)];
  if (!name) {
    throw new DeckhandError(ErrorCode.Usage, `Name the reaction to run: deckhand trigger <reaction> [--payload file.json] [--query k=v ...] [--dry-run]. Reactions: ${known.join(', ') || 'none'}.`);
  }
  const reaction = loaded.reactions.find((r) => r.name === name);
  if (reaction) return reaction;
  const off = loaded.disabled.find((d) => d.name === name);
  if (off) throw new DeckhandError(ErrorCode.Usage, `Reaction "${name}" is off: ${off.reason}.`);
  throw new DeckhandError(ErrorCode.NotFound, `No reaction called "${name}". Reactions: ${known.join(', ') || 'none'}.`);
}

export interface DryRun {
  reaction: string;
  /** Whether the reaction's where/unless filters let this context through. */
  fires: boolean;
  why: string;
  /** What each action would send, secrets shown as ***. */
  actions: Array<Record<string, unknown>>;
}

/** deckhand trigger --dry-run: evaluates the filters, renders the actions, masks every secret; sends nothing. */
export function dryRun(reaction: Reaction, context: Record<string, unknown>, baseDir: string, configSecrets: readonly string[]): DryRun {
  const on = reaction.on as { where?: ConditionInput; unless?: ConditionInput };
  let fires = true;
  let why = 'no where/unless filter: it fires for every trigger';
  if (on.where || on.unless) {
    const where = on.where ? compileFilter(on.where)(context) : true;
    const unless = on.unless ? compileFilter(on.unless)(context) : false;
    fires = where && !unless;
    why = !where ? 'the where: filter does not match this payload' : unless ? 'the unless: filter matches this payload' : `the ${on.where ? 'where: filter matches' : 'unless: filter does not match'}`;
  }
  const redact = createRedactor([...reaction.secrets, ...configSecrets]);
  return { reaction: reaction.name, fires, why, actions: redactStrings(previewActions(reaction, context, baseDir), redact) };
}

/** Every string inside `value` passed through `redact` (values, not the JSON text, so escaping cannot hide a secret). */
export function redactStrings<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactStrings(v, redact)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactStrings(v, redact)])) as T;
  return value;
}
