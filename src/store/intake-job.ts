import type { Job } from '../core/model.js';
import type { DeliveryToAccept } from './types.js';

/**
 * The job a delivery is stored with (both backends), but its id: pending for any worker; claimed
 * at intake by the accepting process's worker (running, attempt 1, leased), exactly as a claim
 * would leave it; or done at intake when nothing acts on the delivery (attempts 0, finished when
 * it was received).
 */
export function intakeJob(job: DeliveryToAccept['job'], deliveryId: number, receivedAt: string): Omit<Job, 'id'> {
  const base = { type: job.type, key: job.key ?? null, payload: { deliveryId }, maxAttempts: job.maxAttempts ?? 5, runAt: job.runAt, lastError: null, createdAt: receivedAt };
  if (job.doneAtIntake) return { ...base, state: 'done', attempts: 0, leaseOwner: null, leaseExpiresAt: null, finishedAt: receivedAt };
  if (job.lease) return { ...base, state: 'running', attempts: 1, leaseOwner: job.lease.owner, leaseExpiresAt: job.lease.expiresAt, finishedAt: null };
  return { ...base, state: 'pending', attempts: 0, leaseOwner: null, leaseExpiresAt: null, finishedAt: null };
}
