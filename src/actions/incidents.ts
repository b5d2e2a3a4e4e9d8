import { z } from 'zod';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Actor } from '../core/permissions.js';
import { applyIncident } from '../oncall/incident-events.js';
import { normalisePhase, type OnCallClient, type OnCallNow } from '../oncall/oncall-client.js';
import { audit, type ActionContext } from './context.js';
import { parseInput } from './validate.js';

export const incidentInput = z.object({
  /** The incident number, or the entity id of its alerts. */
  incident: z.string().min(1).max(500),
  action: z.enum(['ack', 'resolve']),
  message: z.string().max(500).optional(),
});

function client(ctx: ActionContext): OnCallClient {
  if (!ctx.oncall) throw new DeckhandError(ErrorCode.Upstream, 'Splunk On-Call is not configured: set SPLUNK_ONCALL_API_ID and SPLUNK_ONCALL_API_KEY.');
  return ctx.oncall;
}

/**
 * Acknowledges or resolves an incident in Splunk On-Call as the chat user's own on-call user (from
 * oncall.users), so the incident's timeline shows who did it. The change is recorded and announced
 * at once; the webhook Splunk On-Call sends about it later is then a repeat.
 */
export async function actOnIncident(ctx: ActionContext, actor: Actor, raw: z.input<typeof incidentInput>) {
  const input = parseInput(incidentInput, raw);
  const api = client(ctx);
  const userName = ctx.config.oncall.users[actor.id];
  const verb = input.action === 'ack' ? 'acknowledge' : 'resolve';
  if (!userName) {
    await audit(ctx, actor, { action: `incident.${input.action}`, target: input.incident, outcome: 'denied', details: { reason: 'no on-call user' } });
    throw new DeckhandError(ErrorCode.Forbidden, `I don't know your Splunk On-Call user, so I can't ${verb} as you: add "${actor.id}: <username>" under oncall.users in the config.`);
  }
  // A number names the incident; anything else is the entity id of its alerts.
  const byNumber = /^\d+$/.test(input.incident);
  const known = byNumber ? null : await ctx.store.getIncident(input.incident);
  let number = byNumber ? input.incident : (known?.number ?? null);
  let entityId = byNumber ? null : input.incident;
  if (!number || !entityId) {
    // The webhook does not carry the number: find the open incident of the entity (or the entity of the number).
    const open = (await api.incidents()).filter((i) => (number ? i.incidentNumber === number : i.entityId === entityId));
    const match = open.find((i) => normalisePhase(i.currentPhase) !== 'resolved') ?? open[0];
    if (!match) throw new DeckhandError(ErrorCode.NotFound, `Splunk On-Call has no incident ${input.incident}.`);
    number = match.incidentNumber;
    entityId = match.entityId;
  }
  const message = input.message ?? `via Deckhand (${actor.id})`;
  const [result] = await api.act(input.action, userName, [number], message);
  if (!result?.cmdAccepted) {
    await audit(ctx, actor, { action: `incident.${input.action}`, target: number, outcome: 'failed', details: { message: result?.message ?? null } });
    throw new DeckhandError(ErrorCode.Conflict, `Splunk On-Call did not ${verb} incident ${number}${result?.message ? `: ${result.message}` : ''}.`);
  }
  await audit(ctx, actor, { action: `incident.${input.action}`, target: number, outcome: 'ok', details: { entityId, userName } });
  if (entityId) {
    await applyIncident(ctx, { entityId, number, phase: input.action === 'ack' ? 'acknowledged' : 'resolved', by: userName, at: ctx.clock.now().toISOString() }, 'deckhand');
  }
  return { number, entityId, userName };
}

/** Who is on call now, for every team or the one whose name or slug is given. */
export async function whoIsOnCall(ctx: ActionContext, team?: string): Promise<OnCallNow[]> {
  const teams = await client(ctx).onCallNow();
  if (!team) return teams;
  const wanted = team.toLowerCase();
  const found = teams.filter((t) => t.team.name.toLowerCase() === wanted || t.team.slug.toLowerCase() === wanted);
  if (found.length === 0) throw new DeckhandError(ErrorCode.NotFound, `No on-call team "${team}"; teams: ${teams.map((t) => t.team.name).join(', ') || 'none'}.`);
  return found;
}
