import type { AppConfig } from '../config/types.js';
import type { Deployment } from '../store/types.js';

export interface ProviderRunOptions {
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

export interface ProviderResult {
  ok: boolean;
  exitCode: number | null;
  /** One line: why it failed (timeout, exit code, ...). */
  reason: string | null;
  /** Bounded, redacted tail of the output. */
  logTail: string;
}

export interface CheckOutcome {
  check: string;
  ok: boolean;
  reason: string | null;
  logTail: string;
}

/** Where a deployment really happens. Script now; GitHub and Octopus plug in behind the same interface. */
export interface DeploymentProvider {
  readonly kind: string;
  /** Pre-deploy checks for a deployment that is about to be queued. */
  check(app: AppConfig, deployment: DeploymentRequestInfo): Promise<CheckOutcome[]>;
  deploy(app: AppConfig, deployment: Deployment, options: ProviderRunOptions): Promise<ProviderResult>;
}

/** What checks see of a deployment before it exists in the store. */
export interface DeploymentRequestInfo {
  app: string;
  environment: string;
  ref: string;
  requestedBy: string;
  dryRun: boolean;
  forced: boolean;
}
