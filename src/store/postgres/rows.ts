import type { AuditRecord, Delivery, Deployment, DeploymentRun, Job, StoredEvent } from '../../core/model.js';
import { auditFrom, deliveryFrom, deploymentFrom, eventFrom, jobFrom, runFrom, nativeColumns, type AuditRow, type DeliveryRow, type DeploymentRow, type EventRow, type JobRow } from '../row-mappers.js';
/**
 * Rows as node-postgres returns them with the store's type parsers (db.ts): snake_case columns,
 * ids as numbers, booleans as booleans, json already parsed, timestamps as ISO strings.
 */

export { environmentWide, toApproval, toJson, toLock, toMessageRef, toRelease, type ApprovalRow, type LockRow, type MessageRefRow, type ReleaseRow } from '../row-mappers.js';

export { type AuditRow, type DeliveryRow, type DeploymentRow, type EventRow, type JobRow } from '../row-mappers.js';

/** This backend's decoding of the rows whose JSON and flag columns differ (row-mappers.ts). */
export const toDeployment = (row: DeploymentRow): Deployment => deploymentFrom(row, nativeColumns);
export const toRun = (row: DeploymentRow): DeploymentRun => runFrom(row, nativeColumns);
export const toEvent = (row: EventRow): StoredEvent => eventFrom(row, nativeColumns);
export const toAudit = (row: AuditRow): AuditRecord => auditFrom(row, nativeColumns);
export const toDelivery = (row: DeliveryRow): Delivery => deliveryFrom(row, nativeColumns);
export const toJob = (row: JobRow): Job => jobFrom(row, nativeColumns);
