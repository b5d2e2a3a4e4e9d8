import { readFileSync } from 'node:fs';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { AnyEvent } from '../core/events.js';
import { eventContext } from '../reactions/context.js';
import type { LoadedReactions, Reaction } from '../reactions/load-reactions.js';

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
  const reaction = loaded.reactions.find((r) => r.name === name);
  if (reaction) return reaction;
  const off = loaded.disabled.find((d) => d.name === name);
  if (off) throw new DeckhandError(ErrorCode.Usage, `Reaction "${name}" is off: ${off.reason}.`);
  const known = [...loaded.reactions.map((r) => r.name), ...loaded.disabled.map((d) => `${d.name} (off)`)];
  throw new DeckhandError(ErrorCode.NotFound, `No reaction called "${name}". Reactions: ${known.join(', ') || 'none'}.`);
}
