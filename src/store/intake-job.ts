import type { Job } from '../core/model.js';
import type { DeliveryToAccept, JobLease } from './types.js';

/** The columns of a new job that depend on how it starts out. */
export type JobStart = Pick<Job, 'state' | 'attempts' | 'leaseOwner' | 'leaseExpiresAt' | 'finishedAt'>;

/**
 * How a new job starts out (both backends, deliveries' jobs and enqueued ones alike): pending for
 * any worker; claimed by its own insert (`lease`: running, attempt 1, leased), exactly as a claim
 * would leave it; or done at intake when nothing acts on it (attempts 0, finished at `at`).
 */
export function jobStart(start: { lease?: JobLease | undefined; doneAtIntake?: boolean | undefined }, at: string): JobStart {
  if (start.doneAtIntake) return { state: 'done', attempts: 0, leaseOwner: null, leaseExpiresAt: null, finishedAt: at };
  if (start.lease) return { state: 'running', attempts: 1, leaseOwner: start.lease.owner, leaseExpiresAt: start.lease.expiresAt, finishedAt: null };
  return { state: 'pending', attempts: 0, leaseOwner: null, leaseExpiresAt: null, finishedAt: null };
}

/** The job a delivery is stored with, but its id (the same on both backends). */
export function intakeJob(job: DeliveryToAccept['job'], deliveryId: number, receivedAt: string): Omit<Job, 'id'> {
  return { type: job.type, key: job.key ?? null, payload: { deliveryId }, maxAttempts: job.maxAttempts ?? 5, runAt: job.runAt, lastError: null, createdAt: receivedAt, ...jobStart(job, receivedAt) };
}
