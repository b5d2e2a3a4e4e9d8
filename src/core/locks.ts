import type { Lock } from './model.js';

/** The lock that stops `requester` deploying, given every lock that applies to the target. */
export function blockingLock(locks: readonly Lock[], requester: string, holderMayDeploy: boolean): Lock | null {
  return locks.find((lock) => !(holderMayDeploy && lock.holder === requester)) ?? null;
}

export function lockTarget(lock: Pick<Lock, 'environment' | 'app'>): string {
  return lock.app ? `${lock.app} in ${lock.environment}` : lock.environment;
}

/** "production is locked by alice since 2026-11-23 10:31 UTC (12 minutes ago): db migration" */
export function describeLock(lock: Lock, now: Date): string {
  const since = new Date(lock.since);
  const stamp = `${since.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const reason = lock.reason ? `: ${lock.reason}` : ' (no reason given)';
  return `${lockTarget(lock)} is locked by ${lock.holder} since ${stamp} (${timeAgo(since, now)})${reason}`;
}

export function timeAgo(then: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (seconds < 60) return seconds <= 1 ? 'just now' : `${seconds} seconds ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return hours === 1 ? '1 hour ago' : `${hours} hours ago`;
  return `${Math.round(hours / 24)} days ago`;
}
