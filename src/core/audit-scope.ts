import type { NewAuditRecord } from './model.js';

/**
 * The app and environment an audit record is about, so the audit log can be searched by them
 * through an index. Writers may set them; otherwise they are read from the target each action
 * writes (src/actions/*): "api/v1.2 to production" (deploy), "#7 api/v1.2 to production"
 * (approvals), "api 1.4.0" (release.create), "api in production" or "production" (locks).
 */
export function auditScope(record: Pick<NewAuditRecord, 'action' | 'target' | 'app' | 'environment'>): { app: string | null; environment: string | null } {
  if (record.app !== undefined || record.environment !== undefined) return { app: record.app ?? null, environment: record.environment ?? null };
  const { action, target } = record;
  if (action === 'deploy' || action === 'rollback' || action.startsWith('approval') || action === 'approve' || action === 'deny') {
    const m = /^(?:#\d+ )?([^/\s]+)\/.* to (\S+)$/.exec(target);
    return m ? { app: m[1] ?? null, environment: m[2] ?? null } : none;
  }
  if (action.startsWith('release')) {
    const m = /^(\S+) \S+$/.exec(target);
    return m ? { app: m[1] ?? null, environment: null } : none;
  }
  if (action === 'lock' || action === 'unlock' || action.startsWith('lock.')) {
    const m = /^(\S+) in (\S+)$/.exec(target);
    if (m) return { app: m[1] ?? null, environment: m[2] ?? null };
    return /^\S+$/.test(target) ? { app: null, environment: target } : none;
  }
  return none;
}

const none = { app: null, environment: null };
