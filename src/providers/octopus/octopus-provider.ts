import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig, OctopusProviderConfig } from '../../config/types.js';
import { formatDuration } from '../../config/duration.js';
import { DeckhandError, ErrorCode } from '../../core/errors.js';
import type { Deployment } from '../../core/model.js';
import type { CheckOutcome, DeploymentProvider, DeploymentRequestInfo, ProviderResult, ProviderRunOptions } from '../types.js';
import type { OctopusClient, OctopusDeployment, OctopusRelease, OctopusTask, ReleaseTemplate } from './octopus-client.js';

const tailLines = 20;

/** The part of an app's config this provider reads; throws for apps that are not Octopus apps. */
function octopusOf(app: AppConfig): OctopusProviderConfig {
  if (app.provider.kind !== 'octopus') throw new DeckhandError(ErrorCode.Internal, `${app.name} is not deployed through Octopus.`);
  return app.provider;
}

/**
 * Octopus Deploy as a deployment provider: releases are created there, a deployment deploys a
 * release to an environment (POST /api/{space}/deployments) and then follows its server task until
 * it ends. The task's state becomes the deployment's outcome (Canceled → cancelled, TimedOut →
 * failed "timed out in Octopus"); its log is kept as the deployment's log.
 */
export class OctopusProvider implements DeploymentProvider {
  readonly kind = 'octopus';

  constructor(
    private readonly options: {
      client: OctopusClient | null;
      /** Pre-deploy check scripts run the same way for every provider. */
      checks: (app: AppConfig, request: DeploymentRequestInfo) => Promise<CheckOutcome[]>;
    },
  ) {}

  private get client(): OctopusClient {
    if (!this.options.client) throw new DeckhandError(ErrorCode.Upstream, 'Octopus is not configured: set OCTOPUS_URL and OCTOPUS_API_KEY.');
    return this.options.client;
  }

  check(app: AppConfig, request: DeploymentRequestInfo): Promise<CheckOutcome[]> {
    return this.options.checks(app, request);
  }

  /** "latest" (the default ref of Octopus apps) is the newest release of the channel; a version must exist. */
  async resolveRef(app: AppConfig, _environment: string, ref: string): Promise<string> {
    return (await this.release(app, ref)).Version;
  }

  /** Octopus's release of this version of the app's project, with the package versions it selected; null when there is none. */
  async findRelease(app: AppConfig, version: string) {
    const octopus = octopusOf(app);
    const space = await this.client.spaceId(octopus.space);
    const project = await this.client.project(space, octopus.project);
    const release = await this.client.releaseByVersion(space, project.Id, version);
    if (!release) return null;
    const template = await this.client.get<ReleaseTemplate>(`/api/${space}/deploymentprocesses/${project.DeploymentProcessId}/template`, { channel: release.ChannelId });
    const packages: Record<string, string> = {};
    for (const selected of release.SelectedPackages ?? []) {
      const action = selected.ActionName ?? selected.StepName ?? '';
      const pkg = template.Packages.find((p) => (p.ActionName ?? p.StepName ?? '') === action && (p.PackageReferenceName ?? '') === (selected.PackageReferenceName ?? ''));
      packages[pkg?.PackageId ?? pkg?.NuGetPackageId ?? action] = selected.Version;
    }
    return { id: release.Id, url: this.client.webUrl(release.Links?.Web), packages };
  }

  async createRelease(app: AppConfig, input: { version: string; notes: string | null; packages: Readonly<Record<string, string>> }) {
    const octopus = octopusOf(app);
    const space = await this.client.spaceId(octopus.space);
    const project = await this.client.project(space, octopus.project);
    const channel = await this.client.channel(space, project.Id, octopus.channel);
    const template = await this.client.get<ReleaseTemplate>(`/api/${space}/deploymentprocesses/${project.DeploymentProcessId}/template`, { channel: channel.Id });
    // As Octopus does by default: each package at its newest version in its feed, unless given.
    const selected: Array<{ ActionName: string; PackageReferenceName: string; Version: string }> = [];
    const packages: Record<string, string> = {};
    for (const pkg of template.Packages) {
      const action = pkg.ActionName ?? pkg.StepName ?? '';
      const packageId = pkg.PackageId ?? pkg.NuGetPackageId ?? '';
      const feed = pkg.FeedId ?? pkg.NuGetFeedId ?? '';
      let version = input.packages[packageId] ?? input.packages[action] ?? pkg.FixedVersion ?? undefined;
      if (!version) {
        const page = await this.client.get<{ Items: Array<{ Version: string }> }>(`/api/${space}/feeds/${feed}/packages/versions`, { packageId, take: 1 });
        version = page.Items[0]?.Version;
      }
      if (!version) throw new DeckhandError(ErrorCode.Upstream, `Octopus has no version of package ${packageId} (step "${action}"): push one, or name it (${packageId}=1.2.3).`);
      selected.push({ ActionName: action, PackageReferenceName: pkg.PackageReferenceName ?? '', Version: version });
      packages[packageId || action] = version;
    }
    const release = await this.client.post<OctopusRelease>(`/api/${space}/releases`, {
      ProjectId: project.Id,
      ChannelId: channel.Id,
      Version: input.version,
      ...(input.notes ? { ReleaseNotes: input.notes } : {}),
      SelectedPackages: selected,
    });
    return { id: release.Id, url: this.client.webUrl(release.Links?.Web), packages };
  }

  async deploy(app: AppConfig, deployment: Deployment, options: ProviderRunOptions): Promise<ProviderResult> {
    const octopus = octopusOf(app);
    const client = this.client;
    const space = await client.spaceId(octopus.space);
    const release = await this.release(app, deployment.ref);
    const environment = await client.environmentByName(space, octopus.environments[deployment.environment] ?? deployment.environment);
    const tenant = octopus.tenant ? await client.tenant(space, octopus.tenant) : null;
    if (deployment.dryRun) {
      options.onLine(`dry run: would deploy ${octopus.project} ${release.Version} (${release.Id}) to ${environment.Name} (${environment.Id})${tenant ? ` for ${tenant.Name}` : ''}`, 'stdout');
      return { ok: true, exitCode: null, reason: null, logTail: '' };
    }

    const created = await client.post<OctopusDeployment>(`/api/${space}/deployments`, {
      ReleaseId: release.Id,
      EnvironmentId: environment.Id,
      ...(tenant ? { TenantId: tenant.Id } : {}),
      Comments: `Deckhand #${deployment.id}, requested by ${deployment.requestedBy}`,
    });
    const url = client.webUrl(created.Links?.Web);
    // With its task id, so another Deckhand can follow the task again if this one dies or shuts down.
    await options.link?.({ system: 'octopus', id: created.Id, taskId: created.TaskId, ...(url ? { url, logUrl: url } : {}) });
    options.onLine(`Octopus: deploying ${octopus.project} ${release.Version} to ${environment.Name}: ${created.Id}, task ${created.TaskId}${url ? ` (${url})` : ''}`, 'stdout');
    return this.followToEnd(space, created.TaskId, octopus, options, Date.now() + octopus.timeoutMs);
  }

  /** A deployment whose Octopus task is known can be followed again by any Deckhand on the store. */
  canResume(deployment: Deployment): boolean {
    return deployment.provider === this.kind && !deployment.dryRun && deployment.external?.system === 'octopus' && typeof deployment.external.taskId === 'string';
  }

  /**
   * Follows the task of a deployment another Deckhand started (it died or shut down) until it ends,
   * within the deployment's timeout counted from its start, as if it had never stopped.
   */
  async resume(app: AppConfig, deployment: Deployment, options: ProviderRunOptions): Promise<ProviderResult> {
    const octopus = octopusOf(app);
    const taskId = this.canResume(deployment) ? deployment.external?.taskId : undefined;
    if (!taskId) throw new DeckhandError(ErrorCode.Internal, `Deployment #${deployment.id} has no Octopus task to follow.`);
    const space = await this.client.spaceId(octopus.space);
    options.onLine(`Octopus: following task ${taskId} again (this Deckhand took deployment #${deployment.id} over)`, 'stdout');
    const started = new Date(deployment.startedAt ?? deployment.createdAt).getTime();
    return this.followToEnd(space, taskId, octopus, options, started + octopus.timeoutMs);
  }

  /** Follows the task until it ends, `deadline` passes or options.signal aborts; its outcome, with its log. */
  private async followToEnd(space: string, taskId: string, octopus: OctopusProviderConfig, options: ProviderRunOptions, deadline: number): Promise<ProviderResult> {
    const task = await this.follow(space, taskId, octopus, options, deadline);
    if (!task && options.signal?.aborted) {
      // Deckhand stopped following: the task goes on in Octopus, and another Deckhand can follow it
      // again (its log is read by whoever sees it end, so it is not kept twice).
      return { ok: false, exitCode: null, reason: `Deckhand stopped: Deckhand stopped following Octopus task ${taskId}, which may still finish in Octopus`, logTail: '', resumable: true };
    }
    const log = await this.client.getText(`/api/tasks/${taskId}/raw`).catch(() => '');
    const lines = log.split(/\r?\n/).filter((l) => l.trim() !== '');
    for (const line of lines) options.onLine(line, 'stdout');
    const logTail = lines.slice(-tailLines).join('\n');

    if (!task) {
      // Deckhand stopped following: the task goes on in Octopus.
      return { ok: false, exitCode: null, reason: `still running after ${formatDuration(octopus.timeoutMs)}: Deckhand stopped following Octopus task ${taskId}, which may still finish in Octopus`, logTail };
    }
    switch (task.State) {
      case 'Success':
        return { ok: true, exitCode: null, reason: null, logTail };
      case 'Canceled':
        return { ok: false, cancelled: true, exitCode: null, reason: `cancelled in Octopus (task ${task.Id})`, logTail };
      case 'TimedOut':
        return { ok: false, exitCode: null, reason: `timed out in Octopus (task ${task.Id})${task.ErrorMessage ? `: ${task.ErrorMessage}` : ''}`, logTail };
      default:
        return { ok: false, exitCode: null, reason: `failed in Octopus (task ${task.Id}): ${task.ErrorMessage || task.State}`, logTail };
    }
  }

  /** Polls the task (at least once) until it is completed; null when Deckhand gives up (`deadline`, or shutting down). */
  private async follow(space: string, taskId: string, octopus: OctopusProviderConfig, options: ProviderRunOptions, deadline: number): Promise<OctopusTask | null> {
    let lastState = '';
    let failures = 0;
    for (;;) {
      let task: OctopusTask | null = null;
      try {
        task = await this.client.get<OctopusTask>(`/api/${space}/tasks/${taskId}`);
        failures = 0;
      } catch (err) {
        // A blip while following is not the deployment failing: try again a few times.
        if (++failures >= 5) throw err;
        options.onLine(`Octopus: could not read task ${taskId} (${(err as Error).message}); trying again`, 'stderr');
      }
      if (task) {
        const state = task.HasPendingInterruptions ? `${task.State} (waiting for a manual intervention in Octopus)` : task.State;
        if (state !== lastState) options.onLine(`Octopus task ${taskId}: ${state}`, 'stdout');
        lastState = state;
        if (task.IsCompleted) return task;
      }
      if (options.signal?.aborted || Date.now() >= deadline) return null;
      try {
        await sleep(Math.min(octopus.pollMs, Math.max(0, deadline - Date.now())), undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        return null; // aborted while waiting
      }
    }
  }

  /**
   * The release a ref names: "latest" is the newest of the app's channel (the project's default
   * channel when the app names none, as for "create release"; never a release of another channel,
   * such as a hotfix); anything else is an exact version, of whichever channel.
   */
  private async release(app: AppConfig, ref: string): Promise<OctopusRelease> {
    const octopus = octopusOf(app);
    const space = await this.client.spaceId(octopus.space);
    const project = await this.client.project(space, octopus.project);
    if (ref === 'latest') {
      const channel = await this.client.channel(space, project.Id, octopus.channel);
      const [newest] = await this.client.channelReleases(space, project.Id, channel.Id, { take: 1 });
      if (!newest) throw new DeckhandError(ErrorCode.NotFound, `${app.name} has no release in its Octopus channel ${channel.Name} yet: "create release ${app.name} <version>" first.`);
      return newest;
    }
    const found = await this.client.releaseByVersion(space, project.Id, ref);
    if (!found) throw new DeckhandError(ErrorCode.NotFound, `${app.name} has no release ${ref} in Octopus: "create release ${app.name} ${ref}" first, or "deploy ${app.name}" for the latest.`);
    return found;
  }
}
