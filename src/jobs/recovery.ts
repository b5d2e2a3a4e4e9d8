import type { DeckhandConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { isMirrored, type Deployment, type DeploymentRun, type Instance, type OrphanedDeployment, type ScriptProcess } from '../core/model.js';
import { DEFAULT_KILL_GRACE_MS } from '../providers/script/run-script.js';
import { groupState, inThisScope, stopRecordedGroup, type GroupState } from '../providers/script/process-identity.js';
import type { Store } from '../store/types.js';

/** What every interrupted deployment's reason starts with: nobody knows whether its script did its work. */
export const INTERRUPTED = 'interrupted — outcome unknown';

/** Added to a run's deadline: the time a stopped script gets to go, and some slack for clocks. */
export const DEADLINE_SLACK_MS = DEFAULT_KILL_GRACE_MS + 10_000;
/** When neither the run nor the config says how long a deployment may take (an app removed from the config). */
const FALLBACK_TIMEOUT_MS = 3_600_000;

/** How a recovery checks and stops process groups; tests replace it to play another machine. */
export interface ProcessOps {
  /** True when `proc` was recorded where this process sees the same pids. */
  local(proc: ScriptProcess): boolean;
  state(proc: ScriptProcess): GroupState;
  /** SIGTERM, then SIGKILL after graceMs; resolves what is left. */
  stop(proc: ScriptProcess, graceMs: number): Promise<GroupState>;
  /** True while a process with this pid exists in this pid scope. */
  pidAlive(pid: number): boolean;
  /** This process's pid scope (see pidScope()). */
  scope: string | null;
}

export const realProcessOps = (scope: string | null): ProcessOps => ({
  local: inThisScope,
  state: groupState,
  stop: (proc, graceMs) => stopRecordedGroup(proc, graceMs),
  pidAlive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  scope,
});

export interface RecoveryOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: DeckhandConfig;
  /** This process's instance id; null when it has none (its own runs are never taken over). */
  instanceId: string | null;
  processes: ProcessOps;
  /** Called with each deployment recovery finished, for the notices (deployment.failed). */
  finished: (deployment: Deployment) => Promise<void>;
  /** Called for a target whose queue may move on now. */
  kick: (app: string, environment: string) => void;
  /**
   * Deployments this process can follow again (an Octopus task, which goes on without Deckhand):
   * adopted, still running, instead of failed as interrupted; `start` then follows it to its end.
   */
  resume?: { can: (deployment: Deployment) => boolean; start: (deployment: Deployment) => void };
  killGraceMs?: number;
}

/**
 * One pass of recovery, at start and then every heartbeat interval, in every process:
 * 1. instances found dead are stopped (their jobs handed back at once): a lapsed heartbeat, or —
 *    in this pid scope — a pid that no longer runs (a restart after kill -9 need not wait);
 * 2. running deployments whose owner is not live are taken over. One whose work goes on without
 *    Deckhand and can be followed again (an Octopus deployment whose task is known) is adopted:
 *    it stays running, now owned by this process, which follows it to the outcome the provider
 *    reports. Any other fails as "interrupted — outcome unknown" and holds its target; then, in
 *    this pid scope, its script is stopped (SIGTERM, SIGKILL) and once it is seen gone the hold
 *    ends. While the script may still run (another machine, unknown, or it could not be stopped)
 *    the target stays held until the run's deadline;
 * 3. holds whose script is seen to have ended are released;
 * 4. targets with queued deployments are kicked (a process that queued one may be gone).
 * A live instance's deployment is never touched: the store refuses (takeOverDeployment, adoptDeployment).
 */
export async function recoverOnce(options: RecoveryOptions): Promise<void> {
  await stopDeadInstances(options);
  const now = options.clock.now().toISOString();
  const key = (d: Deployment) => `${d.app}\u0000${d.environment}`;
  for (const orphan of await options.store.listOrphanedDeployments(now)) {
    if (orphan.deployment.state === 'running') await takeOver(options, orphan);
    else await releaseIfEnded(options, orphan, now);
  }
  // Held targets are skipped: a claim there would find the hold and start nothing.
  const held = new Set((await options.store.listOrphanedDeployments(now)).filter((o) => o.run.heldUntil !== null && o.run.heldUntil > now).map((o) => key(o.deployment)));
  const queued = (await options.store.listDeployments({ states: ['queued'], limit: 100 })).filter((d) => !isMirrored(d) && !held.has(key(d)));
  for (const d of new Map(queued.map((q) => [key(q), q])).values()) options.kick(d.app, d.environment);
}

async function stopDeadInstances(options: RecoveryOptions): Promise<void> {
  const { store, clock, logger, instanceId, processes } = options;
  const now = clock.now().toISOString();
  for (const other of await store.listInstances()) {
    if (other.id === instanceId) continue;
    const why = deadBecause(other, now, processes);
    if (!why) continue;
    const handedBack = await store.stopInstance(other.id, now);
    logger.warn({ instance: other.id, handedBack }, `Deckhand instance ${other.id} is gone (${why}): its jobs are handed back and its deployments recovered`);
  }
}

function deadBecause(other: Instance, now: string, processes: ProcessOps): string | null {
  if (other.expiresAt <= now) return 'its heartbeat lapsed';
  if (other.pidScope === null || other.pidScope !== processes.scope) return null;
  // Same pids here: a pid that runs nothing, or runs this very process, is not that instance any more.
  if (other.pid === process.pid || !processes.pidAlive(other.pid)) return `process ${other.pid} is gone`;
  return null;
}

async function takeOver(options: RecoveryOptions, { deployment, run }: OrphanedDeployment): Promise<void> {
  const { store, clock, logger, processes, instanceId } = options;
  // Only possible when this process's own heartbeat lapsed: it re-registers; its runs are its own.
  if (run.owner !== null && run.owner === instanceId) return;
  if (instanceId !== null && options.resume?.can(deployment)) {
    // The store moves the deployment to this process only while its owner is not live, and to one
    // process only: the others' adoptions (and a returning owner's take-over) find it owned.
    const adopted = await store.adoptDeployment(deployment.id, instanceId, clock.now().toISOString());
    if (!adopted) return;
    logger.warn(
      { deploymentId: deployment.id, owner: run.owner, external: adopted.external },
      `took over deployment #${deployment.id} from ${run.owner ?? 'an unknown Deckhand'}, which stopped before it finished; its ${adopted.external?.system ?? 'provider'} work goes on, and this Deckhand follows it to its end`,
    );
    options.resume.start(adopted);
    return;
  }
  const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const local = run.process !== null && processes.local(run.process);
  const now = clock.now();
  // Taken over first, holding the target, and only then is the script stopped: once the store says
  // the deployment is ours to recover, its old owner cannot come back to it (its writes conflict),
  // and no next deployment can start while the script is being stopped.
  let holdMs = deadlineOf(options.config, deployment, run);
  if (local) holdMs = Math.max(holdMs, now.getTime() + graceMs + DEADLINE_SLACK_MS);
  const holdUntil = holdMs > now.getTime() ? new Date(holdMs).toISOString() : null;
  const reason = `${INTERRUPTED}: the Deckhand running it (${run.owner ?? 'unknown'}) stopped before it finished`;
  const finished = await store.takeOverDeployment(deployment.id, now.toISOString(), { state: 'failed', finishedAt: now.toISOString(), reason }, holdUntil);
  if (!finished) return; // its owner is live again, or another process was first
  let script: GroupState | 'elsewhere' | 'unknown' = run.process === null ? 'unknown' : 'elsewhere';
  if (run.process && local) script = await processes.stop(run.process, graceMs);
  const released = holdUntil === null || (script === 'gone' && (await store.releaseHold(deployment.id)));
  logger.warn({ deploymentId: deployment.id, owner: run.owner, script, heldUntil: released ? null : holdUntil }, `took over deployment #${deployment.id} (${reason}); ${scriptFate(script, run.process, released ? null : holdUntil)}`);
  await options.finished(finished);
  if (released) options.kick(deployment.app, deployment.environment);
}

function scriptFate(state: GroupState | 'elsewhere' | 'unknown', proc: ScriptProcess | null, holdUntil: string | null): string {
  const until = holdUntil ? `; the next deployment of this target waits until it ends, or until ${holdUntil} at the latest` : '';
  if (state === 'gone') return 'its script has ended (stopped here if it was still running)';
  if (state === 'elsewhere') return `its script (process group ${proc?.pgid} on ${proc?.host}) may still be running${until}`;
  if (state === 'unknown') return `whether its script started is not known${until}`;
  if (state === 'unverifiable') return `its script's process group ${proc?.pgid} could not be identified safely, so it was not signalled${until}`;
  return `its script (process group ${proc?.pgid}) could not be stopped${until}`;
}

/** When the run must be over: recorded at claim, else from the config, else an hour after its start. */
function deadlineOf(config: DeckhandConfig, deployment: Deployment, run: DeploymentRun): number {
  if (run.deadline) return new Date(run.deadline).getTime();
  const timeout = config.apps[deployment.app]?.provider.timeoutMs ?? FALLBACK_TIMEOUT_MS;
  return new Date(deployment.startedAt ?? deployment.createdAt).getTime() + timeout + DEADLINE_SLACK_MS;
}

async function releaseIfEnded(options: RecoveryOptions, { deployment, run }: OrphanedDeployment, now: string): Promise<void> {
  const { store, logger, processes } = options;
  let ended = run.heldUntil !== null && run.heldUntil <= now; // the claim itself lets a lapsed hold go
  if (!ended && run.process && processes.local(run.process)) {
    const state = processes.state(run.process);
    // Still ours and running: try again to stop it (the last attempt may have been refused).
    ended = (state === 'ours' ? await processes.stop(run.process, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS) : state) === 'gone';
    if (ended && (await store.releaseHold(deployment.id))) logger.info({ deploymentId: deployment.id }, `the script of interrupted deployment #${deployment.id} has ended: its target is free again`);
  }
  if (ended) options.kick(deployment.app, deployment.environment);
}
