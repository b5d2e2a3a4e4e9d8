import type { LogLine } from '../../core/model.js';

import type { Prepare } from './approvals.js';

/** Appends lines; a repeated (deployment, seq) is ignored, so a retried batch cannot double lines. */
export function appendLogLines(prepare: Prepare, deploymentId: number, lines: readonly LogLine[]): void {
  const insert = prepare('INSERT OR IGNORE INTO deployment_logs (deployment_id, seq, stream, line, at) VALUES (?, ?, ?, ?, ?)');
  for (const l of lines) insert.run(deploymentId, l.seq, l.stream, l.line, l.at);
}

export function readLogLines(prepare: Prepare, deploymentId: number, limit: number): LogLine[] {
  return prepare('SELECT seq, stream, line, at FROM deployment_logs WHERE deployment_id = ? ORDER BY seq LIMIT ?').all(deploymentId, limit) as LogLine[];
}
