import type { Deployment, OrphanedDeployment, ScriptProcess } from './model.js';

/**
 * A target (app and environment) that a finished deployment still holds: recovery finished it
 * "interrupted — outcome unknown" and its script may still be running, so nothing else deploys
 * there until the script is seen to end, the hold's time runs out, or someone releases it.
 */
export interface TargetHold {
  /** The interrupted deployment that holds the target. */
  deployment: Deployment;
  /** The Deckhand instance that ran it and is gone; null when unknown. */
  owner: string | null;
  /** Where its script was started; null when it is not known whether one started. */
  process: ScriptProcess | null;
  /** The latest the hold lasts. */
  heldUntil: string;
}

/** The holds in force at `now` among what Store.listOrphanedDeployments returned (a lapsed hold holds nothing). */
export function holdsInForce(orphans: readonly OrphanedDeployment[], now: Date): TargetHold[] {
  const at = now.toISOString();
  return orphans.flatMap(({ deployment, run }) =>
    run.heldUntil !== null && run.heldUntil > at ? [{ deployment, owner: run.owner, process: run.process, heldUntil: run.heldUntil }] : [],
  );
}

export function holdTarget(hold: Pick<TargetHold, 'deployment'>): string {
  return `${hold.deployment.app} in ${hold.deployment.environment}`;
}

/** "its script may still be running on build-7 (pid 4242)" */
export function scriptWhereabouts(process: ScriptProcess | null): string {
  if (process === null) return 'whether its script started is not known';
  return `its script may still be running on ${process.host} (pid ${process.pgid})`;
}

function inWords(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  if (minutes <= 1) return 'in under a minute';
  if (minutes < 120) return `in ${minutes} minutes`;
  return `in ${Math.round(minutes / 60)} hours`;
}

/** "until 2026-11-23 11:02 UTC (in 58 minutes)" */
export function holdDeadline(hold: Pick<TargetHold, 'heldUntil'>, now: Date): string {
  const until = new Date(hold.heldUntil);
  return `${until.toISOString().slice(0, 16).replace('T', ' ')} UTC (${inWords(until.getTime() - now.getTime())})`;
}

/**
 * Why the target is held, by what and until when, in one sentence:
 * "api in production is held by #12 (api/main, interrupted — outcome unknown: …): its script may
 * still be running on build-7 (pid 4242). Held until 2026-11-23 11:02 UTC (in 58 minutes) at the
 * latest, or until that script is seen to end."
 */
export function describeHold(hold: TargetHold, now: Date): string {
  const d = hold.deployment;
  const why = d.reason ?? 'interrupted — outcome unknown';
  const end = hold.process === null ? '' : ', or until that script is seen to end';
  return `${holdTarget(hold)} is held by #${d.id} (${d.app}/${d.ref}, ${why}): ${scriptWhereabouts(hold.process)}. Held until ${holdDeadline(hold, now)} at the latest${end}.`;
}

/** What a person who knows better can do: "release hold api in production" (needs force:production). */
export function releaseHint(hold: Pick<TargetHold, 'deployment'>): string {
  const { app, environment } = hold.deployment;
  return `If you know its script is not running, "release hold ${app} in ${environment}" ends the hold (needs force:${environment}).`;
}
