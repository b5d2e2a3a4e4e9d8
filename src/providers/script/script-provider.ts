import { DeckhandError, ErrorCode } from '../../core/errors.js';
import path from 'node:path';
import type { AppConfig } from '../../config/types.js';
import { formatDuration } from '../../config/duration.js';
import type { Deployment } from '../../core/model.js';
import type { CheckOutcome, DeploymentProvider, DeploymentRequestInfo, ProviderResult, ProviderRunOptions } from '../types.js';
import { runScript } from './run-script.js';
import type { ScriptRunResult } from './types.js';
import { tailLines } from './output-buffer.js';

export interface ScriptProviderOptions {
  /** Absolute data directory, given to scripts as DECKHAND_DATA_DIR. */
  dataDir: string;
  /** Values to redact from script output (config secrets). */
  secrets: readonly string[];
  /** Lines of output kept on the deployment for failure reports. */
  tailLineCount?: number;
}

/** The deployment as scripts see it, in DECKHAND_* variables (and as JSON in DECKHAND_DEPLOYMENT_FILE). */
export function deploymentEnv(d: DeploymentRequestInfo & { id?: number }, dataDir: string): Record<string, string> {
  return {
    DECKHAND_APP: d.app,
    DECKHAND_ENVIRONMENT: d.environment,
    DECKHAND_REF: d.ref,
    DECKHAND_DEPLOYMENT_ID: d.id === undefined ? '' : String(d.id),
    DECKHAND_REQUESTED_BY: d.requestedBy,
    DECKHAND_DRY_RUN: String(d.dryRun),
    DECKHAND_FORCED: String(d.forced),
    DECKHAND_DATA_DIR: dataDir,
  };
}

export function describeFailure(result: ScriptRunResult, timeoutMs: number): string | null {
  if (result.timedOut) return `timed out after ${formatDuration(timeoutMs)} and was stopped`;
  if (result.aborted) return 'cancelled';
  if (result.signal) return `killed by ${result.signal}`;
  if (result.exitCode !== 0) return `exited with code ${result.exitCode}`;
  return null;
}

export class ScriptProvider implements DeploymentProvider {
  readonly kind = 'script';

  constructor(private readonly options: ScriptProviderOptions) {}

  async check(app: AppConfig, request: DeploymentRequestInfo): Promise<CheckOutcome[]> {
    const outcomes: CheckOutcome[] = [];
    for (const check of app.provider.checks) {
      const result = await runScript({
        script: check,
        cwd: path.dirname(check),
        env: { ...app.provider.env, ...deploymentEnv(request, this.options.dataDir) },
        payload: request,
        payloadEnvVar: 'DECKHAND_DEPLOYMENT_FILE',
        timeoutMs: app.provider.checkTimeoutMs,
        secrets: this.options.secrets,
      });
      const reason = describeFailure(result, app.provider.checkTimeoutMs);
      outcomes.push({ check: path.basename(check), ok: reason === null, reason, logTail: tailLines(result.output, 10) });
    }
    return outcomes;
  }

  async deploy(app: AppConfig, deployment: Deployment, options: ProviderRunOptions): Promise<ProviderResult> {
    if (app.provider.kind !== 'script') throw new DeckhandError(ErrorCode.Internal, `${app.name} is not deployed by a script.`);
    const result = await runScript({
      script: app.provider.script,
      cwd: path.dirname(app.provider.script),
      env: { ...app.provider.env, ...deploymentEnv(deployment, this.options.dataDir) },
      payload: deployment,
      payloadEnvVar: 'DECKHAND_DEPLOYMENT_FILE',
      timeoutMs: app.provider.timeoutMs,
      secrets: this.options.secrets,
      onLine: options.onLine,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProcess ? { onSpawn: options.onProcess } : {}),
    });
    const reason = describeFailure(result, app.provider.timeoutMs);
    return {
      ok: reason === null,
      exitCode: result.exitCode,
      reason,
      logTail: tailLines(result.output, this.options.tailLineCount ?? 40),
    };
  }
}
