/**
 * Signals for a whole process group, so that whatever a script started (e.g. `sleep 60 &`)
 * goes down with it. The script must have been spawned with `detached: true`, which makes
 * it the leader of a new group whose id is its pid.
 */

const POLL_MS = 25;

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  // Windows has no process groups; the best available is the script process itself.
  const target = process.platform === 'win32' ? pgid : -pgid;
  try {
    process.kill(target, signal);
    return true;
  } catch (err) {
    // EPERM means something is there but not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while any process (zombies included) is left in the group. */
export function isGroupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/**
 * Sends SIGTERM to the group, then SIGKILL after `graceMs` if anything in it is still alive.
 * Resolves once the group is gone or SIGKILL has been sent.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    if (!isGroupAlive(pgid)) return;
  }
  signalGroup(pgid, 'SIGKILL');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
