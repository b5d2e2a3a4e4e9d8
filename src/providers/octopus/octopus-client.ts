import { request } from 'undici';
import { DeckhandError, ErrorCode } from '../../core/errors.js';
import { octopusRoute } from '../../metrics/labels.js';

/** The fields Deckhand reads of Octopus resources (the API returns more). */
export interface OctopusNamed {
  Id: string;
  Name: string;
}
export interface OctopusProject extends OctopusNamed {
  Slug: string;
  SpaceId: string;
  DeploymentProcessId: string;
  IsDisabled?: boolean;
}
export interface OctopusChannel extends OctopusNamed {
  IsDefault: boolean;
}
export interface OctopusRelease {
  Id: string;
  Version: string;
  ProjectId: string;
  ChannelId: string;
  ReleaseNotes?: string | null;
  SelectedPackages?: Array<{ ActionName?: string; StepName?: string; PackageReferenceName?: string; Version: string }>;
  Links?: Record<string, string>;
}
export interface OctopusDeployment {
  Id: string;
  ReleaseId: string;
  EnvironmentId: string;
  ProjectId: string;
  TaskId: string;
  Links?: Record<string, string>;
}
export type OctopusTaskState = 'Queued' | 'Executing' | 'Success' | 'Failed' | 'Canceled' | 'TimedOut' | 'Cancelling';
export interface OctopusTask {
  Id: string;
  State: OctopusTaskState;
  Description?: string;
  IsCompleted: boolean;
  FinishedSuccessfully: boolean;
  ErrorMessage?: string;
  HasPendingInterruptions?: boolean;
  Duration?: string;
}
export interface OctopusMachine extends OctopusNamed {
  Roles: string[];
  EnvironmentIds: string[];
}
export interface ReleaseTemplate {
  NextVersionIncrement?: string;
  Packages: Array<{ ActionName?: string; StepName?: string; PackageReferenceName?: string; PackageId?: string; NuGetPackageId?: string; FeedId?: string; NuGetFeedId?: string; IsResolvable?: boolean; FixedVersion?: string | null }>;
}

interface Collection<T> {
  Items: T[];
  TotalResults?: number;
}

/**
 * A small client for the Octopus Deploy REST API (X-Octopus-ApiKey on every request). Errors
 * become DeckhandError E_UPSTREAM with Octopus's own ErrorMessage and Errors, and a 401 says
 * which setting to fix. The API key never appears in an error or a log.
 */
export class OctopusClient {
  private readonly base: string;
  private readonly spaceIds = new Map<string, string>();

  /** `onRequest`: told of every request, by path template (/api/{id}/projects/{id}) and status (0: no answer); for metrics. */
  constructor(private readonly options: { url: string; apiKey: string; defaultSpace: string; timeoutMs?: number; onRequest?: (route: string, status: number) => void }) {
    this.base = options.url.replace(/\/+$/, '');
  }

  /** The Octopus web UI link for an API `Links.Web` path such as /app#/Spaces-1/deployments/Deployments-1. */
  webUrl(path: string | undefined): string | null {
    return path ? `${this.base}${path.startsWith('/') ? '' : '/'}${path}` : null;
  }

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    return this.send<T>('GET', path, query);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, {}, body);
  }

  async getText(path: string): Promise<string> {
    return this.send<string>('GET', path, {}, undefined, true);
  }

  /** A space's id from its id or name (Spaces-1, "Default"); undefined means the default space. */
  async spaceId(space: string | undefined): Promise<string> {
    const wanted = space ?? this.options.defaultSpace;
    if (/^Spaces-\d+$/.test(wanted)) return wanted;
    const known = this.spaceIds.get(wanted.toLowerCase());
    if (known) return known;
    const all = await this.get<Array<OctopusNamed>>('/api/spaces/all');
    const found = all.find((s) => s.Name.toLowerCase() === wanted.toLowerCase());
    if (!found) throw new DeckhandError(ErrorCode.Upstream, `Octopus has no space "${wanted}" (it has ${all.map((s) => s.Name).join(', ') || 'none'}).`);
    this.spaceIds.set(wanted.toLowerCase(), found.Id);
    return found.Id;
  }

  /** A project by id, slug or exact name. */
  async project(spaceId: string, nameOrId: string): Promise<OctopusProject> {
    if (/^Projects-\d+$/.test(nameOrId) || /^[a-z0-9-]+$/.test(nameOrId)) {
      const direct = await this.get<OctopusProject>(`/api/${spaceId}/projects/${encodeURIComponent(nameOrId)}`).catch((err: unknown) => {
        if ((err as DeckhandError).details?.status === 404) return null;
        throw err;
      });
      if (direct) return direct;
    }
    const page = await this.get<Collection<OctopusProject>>(`/api/${spaceId}/projects`, { partialName: nameOrId, take: 100 });
    const found = page.Items.find((p) => p.Name === nameOrId) ?? page.Items.find((p) => p.Name.toLowerCase() === nameOrId.toLowerCase());
    if (!found) throw new DeckhandError(ErrorCode.Upstream, `Octopus has no project "${nameOrId}" in ${spaceId}.`);
    return found;
  }

  async environmentByName(spaceId: string, name: string): Promise<OctopusNamed> {
    const all = await this.get<OctopusNamed[]>(`/api/${spaceId}/environments/all`);
    const found = all.find((e) => e.Name === name) ?? all.find((e) => e.Name.toLowerCase() === name.toLowerCase());
    if (!found) throw new DeckhandError(ErrorCode.Upstream, `Octopus has no environment "${name}" (it has ${all.map((e) => e.Name).join(', ')}).`);
    return found;
  }

  async channel(spaceId: string, projectId: string, name: string | undefined): Promise<OctopusChannel> {
    const page = await this.get<Collection<OctopusChannel>>(`/api/${spaceId}/projects/${projectId}/channels`, { take: 1000 });
    const found = name === undefined ? page.Items.find((c) => c.IsDefault) ?? page.Items[0] : page.Items.find((c) => c.Name.toLowerCase() === name.toLowerCase());
    if (!found) throw new DeckhandError(ErrorCode.Upstream, `Octopus project ${projectId} has no channel "${name ?? '(default)'}".`);
    return found;
  }

  async tenant(spaceId: string, nameOrId: string): Promise<OctopusNamed> {
    if (/^Tenants-\d+$/.test(nameOrId)) return this.get<OctopusNamed>(`/api/${spaceId}/tenants/${nameOrId}`);
    const all = await this.get<OctopusNamed[]>(`/api/${spaceId}/tenants/all`);
    const found = all.find((t) => t.Name.toLowerCase() === nameOrId.toLowerCase());
    if (!found) throw new DeckhandError(ErrorCode.Upstream, `Octopus has no tenant "${nameOrId}".`);
    return found;
  }

  /**
   * Releases of one channel of a project, newest first. Asking Octopus for the channel's own list
   * (the project's Releases link has no channel filter) means releases of other channels can
   * neither be picked nor crowd the channel's out of the page.
   */
  async channelReleases(spaceId: string, projectId: string, channelId: string, options: { take?: number } = {}): Promise<OctopusRelease[]> {
    const page = await this.get<Collection<OctopusRelease>>(`/api/${spaceId}/projects/${projectId}/channels/${encodeURIComponent(channelId)}/releases`, { take: options.take ?? 30 });
    return page.Items;
  }

  /**
   * The release of a project with exactly this version, or null (Octopus answers 404). Not
   * searchByVersion: that matches parts of versions, so newer releases containing "2.0.1" could
   * fill the page and hide release 2.0.1 itself.
   */
  async releaseByVersion(spaceId: string, projectId: string, version: string): Promise<OctopusRelease | null> {
    try {
      return await this.get<OctopusRelease>(`/api/${spaceId}/projects/${projectId}/releases/${encodeURIComponent(version)}`);
    } catch (err) {
      if ((err as DeckhandError).details?.status === 404) return null;
      throw err;
    }
  }

  async cancelTask(taskId: string): Promise<void> {
    await this.post(`/api/tasks/${taskId}/cancel`, {});
  }

  private async send<T>(method: 'GET' | 'POST', path: string, query: Record<string, string | number | undefined>, body?: unknown, text = false): Promise<T> {
    const url = new URL(`${this.base}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let response;
    try {
      response = await request(url, {
        method,
        headers: { 'x-octopus-apikey': this.options.apiKey, accept: text ? 'text/plain' : 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: this.options.timeoutMs ?? 30_000,
        bodyTimeout: this.options.timeoutMs ?? 30_000,
      });
    } catch (err) {
      this.options.onRequest?.(octopusRoute(method, path), 0);
      throw new DeckhandError(ErrorCode.Upstream, `Octopus at ${this.base} did not answer (${(err as Error).message}).`, { status: 0 }, { cause: err });
    }
    this.options.onRequest?.(octopusRoute(method, path), response.statusCode);
    const raw = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (text) return raw as T;
      return (raw ? JSON.parse(raw) : {}) as T;
    }
    throw octopusError(response.statusCode, method, path, raw);
  }
}

/** Octopus's error body ({ErrorMessage, Errors[]}) as one readable DeckhandError. */
export function octopusError(status: number, method: string, path: string, raw: string): DeckhandError {
  let detail = raw.slice(0, 300);
  try {
    const body = JSON.parse(raw) as { ErrorMessage?: string; Errors?: string[] };
    detail = [body.ErrorMessage, ...(body.Errors ?? [])].filter(Boolean).join(' ');
  } catch {
    // not JSON: keep the text
  }
  if (status === 401 || status === 403) {
    return new DeckhandError(ErrorCode.Upstream, `Octopus refused Deckhand's API key (${status}): ${detail} Check OCTOPUS_API_KEY and that its user may do this.`, { status });
  }
  return new DeckhandError(ErrorCode.Upstream, `Octopus answered ${status} to ${method} ${path}: ${detail || 'no details'}`, { status });
}
