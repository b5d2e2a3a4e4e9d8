import type { AppConfig } from '../config/types.js';
import type { Deployment, ExternalDeployment } from '../core/model.js';

export interface ProviderRunOptions {
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** Records the deployment's twin in the system that runs it (an Octopus deployment), as soon as it exists. */
  link?: (external: ExternalDeployment) => Promise<void>;
  /** Called once a script's process group exists (its id), so the runner can record it for a recovery on the same machine. */
  onProcess?: (pgid: number) => void;
}

export interface ProviderResult {
  ok: boolean;
  exitCode: number | null;
  /** One line: why it failed (timeout, exit code, ...). */
  reason: string | null;
  /** Bounded, redacted tail of the output. */
  logTail: string;
  /** Not ok because someone cancelled it there (an Octopus task cancelled in Octopus), rather than failed. */
  cancelled?: boolean;
  /**
   * Set when Deckhand stopped following (options.signal) work that goes on without it and that
   * resume() can follow again (an Octopus task): a shutdown hands such a deployment over, running,
   * instead of recording an outcome nobody knows yet.
   */
  resumable?: boolean;
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
  /**
   * What a requested ref means, before the deployment is queued (Octopus: "latest" becomes the
   * newest release's version; an unknown version is refused). Throws a DeckhandError users can act on.
   */
  resolveRef?(app: AppConfig, environment: string, ref: string): Promise<string>;
  /**
   * Whether another Deckhand process can follow this running deployment again (Octopus: its task
   * is known). Recovery then adopts it, running, instead of failing it as interrupted.
   */
  canResume?(deployment: Deployment): boolean;
  /** Follows such a deployment again until it ends (after a take-over or a hand-over); the same result as deploy's. */
  resume?(app: AppConfig, deployment: Deployment, options: ProviderRunOptions): Promise<ProviderResult>;
  /**
   * The provider's own release of this version (Octopus), if it has one: a request that may be a
   * re-run (it has an idempotency key) looks before creating, so a release made just before a
   * kill -9 is found instead of created twice.
   */
  findRelease?(app: AppConfig, version: string): Promise<{ id: string; url: string | null; packages: Record<string, string> } | null>;
  /** Creates the release on the provider's side (Octopus); returns where people can see it. */
  createRelease?(app: AppConfig, release: { version: string; notes: string | null; packages: Readonly<Record<string, string>> }): Promise<{ id: string; url: string | null; packages: Record<string, string> }>;
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
