import type { AuditRecord, Delivery, Deployment, DeploymentRun, Job, StoredEvent } from '../../core/model.js';
import { auditFrom, deliveryFrom, deploymentFrom, eventFrom, jobFrom, runFrom, textColumns, type AuditRow, type DeliveryRow, type DeploymentRow, type EventRow, type JobRow } from '../row-mappers.js';
import { environmentWide } from '../row-mappers.js';

/** Rows as SQLite returns them: snake_case columns, booleans as 0/1, JSON as TEXT. */

export function lockAppColumn(app: string | null): string {
  return app ?? environmentWide;
}

export { environmentWide, toApproval, toJson, toLock, toMessageRef, toRelease, type ApprovalRow, type LockRow, type MessageRefRow, type ReleaseRow } from '../row-mappers.js';

export { type AuditRow, type DeliveryRow, type DeploymentRow, type EventRow, type JobRow } from '../row-mappers.js';

/** This backend's decoding of the rows whose JSON and flag columns differ (row-mappers.ts). */
export const toDeployment = (row: DeploymentRow): Deployment => deploymentFrom(row, textColumns);
export const toRun = (row: DeploymentRow): DeploymentRun => runFrom(row, textColumns);
export const toEvent = (row: EventRow): StoredEvent => eventFrom(row, textColumns);
export const toAudit = (row: AuditRow): AuditRecord => auditFrom(row, textColumns);
export const toDelivery = (row: DeliveryRow): Delivery => deliveryFrom(row, textColumns);
export const toJob = (row: JobRow): Job => jobFrom(row, textColumns);
