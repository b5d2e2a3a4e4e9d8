import type { DeckhandConfig, RoleConfig } from '../config/types.js';
import type { PermissionVerb } from '../config/schema.js';
import { globMatch } from './glob.js';
import type { DeploymentOrigin } from './model.js';

/** Who is acting: a chat user, or Deckhand itself (schedules, webhooks) which config already authorised. */
export interface Actor {
  id: string;
  /** Display name, when the adapter knows one. */
  name?: string;
  /** Chat room the request came from. */
  room?: string | null;
  /** The chat message the request came in, so notices can react to it and thread under it. */
  origin?: DeploymentOrigin;
  /** True for Deckhand's own triggers: permission checks are skipped, audit still records them. */
  system?: boolean;
  /**
   * The roles it acts with, by name, when they come with the actor rather than from membership
   * (an operator token acts with exactly its one role). When set, `members` lists are not consulted.
   */
  roles?: readonly string[];
}

export interface Permission {
  verb: PermissionVerb;
  scope: string;
}

export function formatPermission(p: Permission): string {
  return `${p.verb}:${p.scope}`;
}

/** The roles of an actor: those it carries (Actor.roles), else those whose members match its id. */
export function rolesOf(config: DeckhandConfig, who: string | Actor): RoleConfig[] {
  if (typeof who !== 'string' && who.roles) {
    const named = new Set(who.roles);
    return Object.values(config.roles).filter((role) => named.has(role.name));
  }
  const userId = typeof who === 'string' ? who : who.id;
  return Object.values(config.roles).filter((role) => role.members.some((member) => globMatch(member, userId)));
}

/** A grant `verb:scope` covers a permission when verb and scope match or are `*`; `admin:*` covers everything. */
export function grantCovers(grant: string, wanted: Permission): boolean {
  const [verb, scope] = grant.split(':') as [string, string];
  if (verb === 'admin' && scope === '*') return true;
  return (verb === '*' || verb === wanted.verb) && (scope === '*' || scope === wanted.scope);
}

export function can(config: DeckhandConfig, actor: Actor, wanted: Permission): boolean {
  if (actor.system) return true;
  return rolesOf(config, actor).some((role) => role.may.some((grant) => grantCovers(grant, wanted)));
}

/** Names of the roles that grant a permission, for "ask someone in ..." messages. */
export function rolesGranting(config: DeckhandConfig, wanted: Permission): string[] {
  return Object.values(config.roles)
    .filter((role) => role.may.some((grant) => grantCovers(grant, wanted)))
    .map((role) => role.name);
}
