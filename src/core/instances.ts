import type { Deployment } from './model.js';

/**
 * Several processes on one store: instances and their heartbeats, the deployments they run and
 * what a recovery needs of an orphaned one. Part of the domain model (re-exported by ./model.ts).
 */

/**
 * A running Deckhand process, as the other processes on the same store see it. It counts as alive
 * while its heartbeat keeps `expiresAt` in the future and it has not stopped.
 */
export interface Instance {
  /** Unique per process start: <host>:<pid>:<random>. */
  id: string;
  /** The machine's name, for people reading logs. */
  host: string;
  /**
   * Equal for two processes exactly when they see the same process ids (Linux: the same boot and
   * pid namespace), so one may check or stop the other's processes; null when unknown (not Linux).
   */
  pidScope: string | null;
  pid: number;
  startedAt: string;
  /** Alive until then, unless its heartbeat moves it on. */
  expiresAt: string;
  /** When it stopped (a shutdown) or was found dead by another instance; null while it runs. */
  stoppedAt: string | null;
}

export type NewInstance = Omit<Instance, 'stoppedAt'>;

/** The process group a deployment's script runs in, so a recovery in the same pid scope can check and stop it. */
export interface ScriptProcess {
  /** The machine's name, for people. */
  host: string;
  /** As Instance.pidScope; a process in another scope (or null) cannot check this group. */
  pidScope: string | null;
  pgid: number;
  /** The group leader's start (Linux: its start time in clock ticks since boot), so a reused pid is not mistaken for it; null when unknown. */
  leaderStart: string | null;
}

/** Who runs (or ran) a deployment and what is known of its script: what a recovery needs. */
export interface DeploymentRun {
  /** The instance that claimed it; null when claimed without one (an older Deckhand, or a test). */
  owner: string | null;
  /** When it must be over at the latest (claim time + the provider's timeout + the kill grace); null when unknown. */
  deadline: string | null;
  /** The script's process group, once the provider started one. */
  process: ScriptProcess | null;
  /** Set while a finished deployment still holds its target, because its script may still be running. */
  heldUntil: string | null;
}

/** A deployment recovery has to look at (Store.listOrphanedDeployments), with its run. */
export interface OrphanedDeployment {
  deployment: Deployment;
  run: DeploymentRun;
}
