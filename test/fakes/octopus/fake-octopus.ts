/**
 * A fake Octopus Deploy server on 127.0.0.1 for tests of code that creates releases, deploys them,
 * follows the server task and takes subscription webhooks. It speaks the REST API described in
 * /work/shared/reference/octopus-deploy.md (section 9 is the plan this follows).
 *
 *   const octopus = await startFakeOctopus();
 *   octopus.nextTaskScript(['Queued', 'Executing', 'Failed'], { errorMessage: 'Step 1 failed', log: ['Pulling image', 'exit 1'] });
 *   // point the code under test at octopus.url with octopus.apiKey, then:
 *   expect(octopus.tasks()[0]?.State).toBe('Failed');
 *   await octopus.close();
 *
 * Seeded: space Spaces-1 "Default"; project "Core Web" (Projects-1, slug core-web, channel
 * Channels-1, process deploymentprocess-Projects-1 with one action "Deploy Core Web" using package
 * `web`); environments Staging (Environments-1) and Production (Environments-2); `web` 1.3.0, 1.4.0.
 *
 * Order of checks for each request: API key (401), injected faults (`failNext`), JSON syntax (400),
 * route (404 unknown space, path or object; 405 wrong method), then the route's own validation.
 *
 * Space routes live under /api/Spaces-1/...; /api/<route> without a space id means the default
 * space (as old Octopus scripts use it), and /api/tasks/... works unscoped.
 *
 * Channels and releases: every project starts with its Default channel (IsDefault); `addChannel`
 * adds more, and a release belongs to one (ChannelId). Release lists are newest first (creation
 * order). `searchByVersion` matches any part of a version, case-insensitively (so "2.0.1" also finds
 * 2.0.10 and 12.0.1); `GET projects/{id}/releases/{version}` is the exact lookup and answers 404
 * when there is no such version; `GET projects/{id}/channels/{channelId}/releases` lists one channel's.
 *
 * Tasks: a deployment's task follows a script of states, one step per read of the task
 * (GET tasks/{id}, or GET tasks?ids=... naming it); the last state then stays. Details and raw
 * log reads do not move the task.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CallLog, listenLocal, matchesMethod, readIncoming, testPattern, type RecordedCall } from '../incoming.js';

// ---------------------------------------------------------------------------------------------
// Public types

export type OctopusTaskState = 'Queued' | 'Executing' | 'Success' | 'Failed' | 'Canceled' | 'TimedOut' | 'Cancelling';

export const TASK_STATES: readonly OctopusTaskState[] = ['Queued', 'Executing', 'Success', 'Failed', 'Canceled', 'TimedOut', 'Cancelling'];

/** A request the fake received (see RecordedCall); `status` is what it answered (0: the connection was dropped). */
export type FakeOctopusCall = RecordedCall;

export interface FakeOctopusOptions {
  /** The only key accepted in `X-Octopus-ApiKey`. Default `API-FAKEKEY0000000000000000000`. */
  apiKey?: string;
  /** `Version` of `GET /api`. Default `2024.1.0`. */
  version?: string;
}

export type Links = Record<string, string>;

export interface Space {
  Id: string;
  Name: string;
  Slug: string;
  Description: string | null;
  IsDefault: boolean;
  TaskQueueStopped: boolean;
  SpaceManagersTeams: string[];
  SpaceManagersTeamMembers: string[];
  Links: Links;
}

export interface Project {
  Id: string;
  Name: string;
  Slug: string;
  Description: string;
  SpaceId: string;
  DeploymentProcessId: string;
  LifecycleId: string;
  ProjectGroupId: string;
  IsDisabled: boolean;
  TenantedDeploymentMode: 'Untenanted' | 'TenantedOrUntenanted' | 'Tenanted';
  Links: Links;
}

export interface Channel {
  Id: string;
  Name: string;
  Description: string;
  ProjectId: string;
  LifecycleId: string | null;
  IsDefault: boolean;
  SpaceId: string;
  Links: Links;
}

export interface Environment {
  Id: string;
  Name: string;
  Description: string;
  SpaceId: string;
  SortOrder: number;
  UseGuidedFailure: boolean;
  AllowDynamicInfrastructure: boolean;
  Links: Links;
}

export interface Tenant {
  Id: string;
  Name: string;
  Description: string;
  SpaceId: string;
  ProjectEnvironments: Record<string, string[]>;
  TenantTags: string[];
  Links: Links;
}

export interface Machine {
  Id: string;
  Name: string;
  Roles: string[];
  EnvironmentIds: string[];
  TenantIds: string[];
  TenantedDeploymentParticipation: 'Untenanted' | 'TenantedOrUntenanted' | 'Tenanted';
  Status: 'Online';
  HealthStatus: 'Healthy';
  IsDisabled: boolean;
  SpaceId: string;
  Links: Links;
}

export interface PackageReference {
  Id: string;
  /** `''` for an action's primary package. */
  Name: string;
  PackageId: string;
  FeedId: string;
  AcquisitionLocation: string;
  Properties: Record<string, string>;
}

export interface DeploymentAction {
  Id: string;
  Name: string;
  ActionType: string;
  IsDisabled: boolean;
  Environments: string[];
  ExcludedEnvironments: string[];
  Channels: string[];
  TenantTags: string[];
  Packages: PackageReference[];
  Properties: Record<string, string>;
}

export interface DeploymentStep {
  Id: string;
  Name: string;
  Condition: string;
  StartTrigger: string;
  PackageRequirement: string;
  Properties: Record<string, string>;
  Actions: DeploymentAction[];
}

export interface DeploymentProcess {
  Id: string;
  ProjectId: string;
  SpaceId: string;
  Version: number;
  LastSnapshotId: string | null;
  Steps: DeploymentStep[];
  Links: Links;
}

export interface ReleaseTemplatePackage {
  ActionName: string;
  /** Legacy alias of ActionName. */
  StepName: string;
  PackageReferenceName: string;
  PackageId: string;
  FeedId: string;
  FeedName: string;
  VersionSelectedLastRelease: string | null;
  FixedVersion: string | null;
  IsResolvable: boolean;
}

export interface ReleaseTemplate {
  DeploymentProcessId: string;
  LastReleaseVersion: string | null;
  NextVersionIncrement: string;
  VersioningPackageStepName: string | null;
  VersioningPackageReferenceName: string | null;
  Packages: ReleaseTemplatePackage[];
  GitResources: unknown[];
}

export interface PackageVersion {
  Id: string;
  PackageId: string;
  FeedId: string;
  Version: string;
  Title: string;
  Published: string;
  SizeBytes: number;
  ReleaseNotes: string | null;
}

export interface SelectedPackage {
  ActionName: string;
  PackageReferenceName: string;
  Version: string;
}

export interface Release {
  Id: string;
  Version: string;
  ProjectId: string;
  ChannelId: string;
  ReleaseNotes: string | null;
  Assembled: string;
  SelectedPackages: SelectedPackage[];
  ProjectDeploymentProcessSnapshotId: string;
  ProjectVariableSetSnapshotId: string;
  LibraryVariableSetSnapshotIds: string[];
  BuildInformation: unknown[];
  SpaceId: string;
  Links: Links;
}

export interface Deployment {
  Id: string;
  Name: string;
  ReleaseId: string;
  EnvironmentId: string;
  TenantId: string | null;
  ProjectId: string;
  ChannelId: string;
  TaskId: string;
  DeploymentProcessId: string;
  Comments: string | null;
  FormValues: Record<string, unknown>;
  Created: string;
  DeployedBy: string;
  FailureEncountered: boolean;
  SpaceId: string;
  Links: Links;
}

export interface ServerTask {
  Id: string;
  Name: string;
  Description: string;
  Arguments: Record<string, unknown>;
  State: OctopusTaskState;
  /** Human-readable completion time; null until completed. */
  Completed: string | null;
  QueueTime: string;
  QueueTimeExpiry: string | null;
  StartTime: string | null;
  LastUpdatedTime: string;
  CompletedTime: string | null;
  ServerNode: string | null;
  /** Human-readable, e.g. `3 seconds`; null until completed. */
  Duration: string | null;
  ErrorMessage: string;
  HasBeenPickedUpByProcessor: boolean;
  IsCompleted: boolean;
  FinishedSuccessfully: boolean;
  HasPendingInterruptions: boolean;
  CanRerun: boolean;
  HasWarningsOrErrors: boolean;
  ProjectId: string;
  SpaceId: string;
  Links: Links;
}

export type ActivityStatus = 'Pending' | 'Running' | 'Success' | 'Failed' | 'Skipped' | 'SuccessWithWarning' | 'Canceled';

export interface ActivityLogElement {
  Category: 'Info' | 'Error';
  OccurredAt: string;
  MessageText: string;
  Detail?: string;
}

export interface ActivityElement {
  Id: string;
  Name: string;
  Started: string | null;
  Ended: string | null;
  Status: ActivityStatus;
  Children: ActivityElement[];
  ShowAtSummaryLevel: boolean;
  LogElements: ActivityLogElement[];
  ProgressPercentage: number;
  ProgressMessage: string | null;
}

export interface TaskDetails {
  Task: ServerTask;
  Progress: { ProgressPercentage: number; EstimatedTimeRemaining: string };
  PhysicalLogSize: number;
  ActivityLogs: ActivityElement[];
}

export interface TaskScriptOptions {
  /** ErrorMessage of the task once Failed or TimedOut (default: an invented text). */
  errorMessage?: string;
  /** Log lines of the task (details and raw log). Default: a couple of invented lines. */
  log?: string[];
}

export interface SubscriptionEventInput {
  category: string;
  relatedDocumentIds: string[];
  /** Default: made up from the category and the related documents. */
  message?: string;
  /** Default `system`. */
  username?: string;
  /** Default a fresh `Events-N`; pass the same id twice to send a duplicate. */
  eventId?: string;
}

export interface FakeOctopus {
  /** The Octopus server URL, e.g. `http://127.0.0.1:41234` (no trailing slash; the API is under /api). */
  url: string;
  apiKey: string;
  /** Every request, in arrival order (401s included), with the status it got. */
  calls: FakeOctopusCall[];
  /** Calls matching method (`*` = any) and path. */
  callsTo(method: string, pathPattern: RegExp): FakeOctopusCall[];
  /** The first call (past or future) matching; rejects after `timeoutMs` (default 5000). */
  waitForCall(method: string, pathPattern: RegExp, predicate?: (call: FakeOctopusCall) => boolean, timeoutMs?: number): Promise<FakeOctopusCall>;

  /** Returns `Projects-N`; the project gets a Default channel and a one-action process using `packageId` (default: the slug). */
  addProject(p: { name: string; slug?: string; packageId?: string }): string;
  /** Returns `Environments-N`. */
  addEnvironment(name: string): string;
  addPackageVersion(packageId: string, version: string): void;
  /**
   * Returns `Channels-N`, a channel of a project (name, slug or id). `isDefault` makes it the
   * project's default channel in place of the one that was.
   */
  addChannel(project: string, channel: { name: string; isDefault?: boolean }): string;
  /** A release of a project (name, slug or id) in its default channel, or the one named (name or id), without validation. */
  addRelease(project: string, version: string, options?: { channel?: string }): { Id: string; Version: string };
  /** Returns `Tenants-N`. */
  addTenant(name: string): string;
  /** Returns `Machines-N`. */
  addMachine(m: { name: string; roles: string[]; environmentIds: string[] }): string;

  /**
   * The states the next created deployment's task goes through, one step per read of the task (the
   * last state then stays). Scripts queue up, one per deployment. Default ['Queued', 'Executing',
   * 'Success']. A script ending in 'Executing' hangs.
   */
  nextTaskScript(states: OctopusTaskState[], options?: TaskScriptOptions): void;
  /**
   * Moves a task to `state` now, as Octopus moving on by itself (whoever follows it sees it at their
   * next read); the rest of its script is dropped. For tests where the task ends while nobody, or
   * another Deckhand, follows it.
   */
  setTaskState(taskId: string, state: OctopusTaskState, options?: TaskScriptOptions): void;
  /**
   * The next `times` requests matching method (`*` = any) and path answer `status` with an Octopus
   * error body (after the API-key check; they change no state). Status 0 drops the connection.
   */
  failNext(method: string, pathPattern: RegExp, status: number, times?: number): void;
  /**
   * The next request matching method and path is carried out (a release or deployment is made) but
   * its answer is held back until `release()`: Octopus did the work, and the caller has not heard
   * yet — the moment to kill it. `arrived` resolves with the call once it came.
   */
  holdNext(method: string, pathPattern: RegExp): { arrived: Promise<FakeOctopusCall>; release(): void };

  /** Stored objects, oldest first (the live objects: they change as the fake moves on). */
  releases(): Release[];
  deployments(): Deployment[];
  tasks(): ServerTask[];
  projects(): Project[];
  environments(): Environment[];

  /**
   * POSTs a subscription webhook (the single-event payload of section 7) to `target.url`, with the
   * header `target.headerKey: target.headerValue` unless headerKey is undefined. Returns the HTTP
   * status and body text of the answer. Can be called twice for one event, late or out of order.
   */
  emitSubscriptionEvent(target: { url: string; headerKey?: string; headerValue?: string }, event: SubscriptionEventInput): Promise<{ status: number; body: string }>;

  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const DEFAULT_API_KEY = 'API-FAKEKEY0000000000000000000';
const BUILTIN_FEED_ID = 'feeds-builtin';
const BUILTIN_FEED_NAME = 'Octopus Server (built-in)';
const UNAUTHORISED = 'You must be logged in to perform this action. Please provide a valid API key or log in again.';
const DEFAULT_SCRIPT: OctopusTaskState[] = ['Queued', 'Executing', 'Success'];
const SERVER_NODE = 'OCTOPUS-FAKE-NODE';

interface Reply {
  /** 0: drop the connection without answering. */
  status: number;
  body?: unknown;
  /** A text/plain answer instead of JSON. */
  text?: string;
}

interface Fault {
  method: string;
  pathPattern: RegExp;
  status: number;
  remaining: number;
}


interface TaskRuntime {
  task: ServerTask;
  deploymentId: string;
  /** States still to show, one per read. */
  queue: OctopusTaskState[];
  errorMessage: string | undefined;
  log: string[] | undefined;
  actionNames: string[];
}

type Params = Record<string, string>;
type Handler = (params: Params, call: FakeOctopusCall) => Reply;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

/** Octopus-style timestamps: `2024-01-02T03:04:05.678+00:00`. */
function octoTime(date: Date = new Date()): string {
  return date.toISOString().replace(/Z$/, '+00:00');
}

function isCompleted(state: OctopusTaskState): boolean {
  return state !== 'Queued' && state !== 'Executing' && state !== 'Cancelling';
}

function error(status: number, message: string, errors: string[] = []): Reply {
  return { status, body: { ErrorMessage: message, Errors: errors } };
}

function notFound(what: string): Reply {
  return error(404, `The resource you requested was not found: ${what}.`);
}

function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}



function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function intParam(value: string | undefined, fallback: number): number {
  if (value === undefined || !/^\d+$/.test(value)) return fallback;
  return Number(value);
}

/** Compares versions by their numeric parts; a pre-release sorts below its release. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const match = /^([^-+]*)(?:-([^+]*))?/.exec(v);
    return { parts: (match?.[1] ?? v).split('.'), pre: match?.[2] ?? '' };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.parts.length, y.parts.length); i++) {
    const p = x.parts[i] ?? '0';
    const q = y.parts[i] ?? '0';
    const diff = /^\d+$/.test(p) && /^\d+$/.test(q) ? Number(p) - Number(q) : p.localeCompare(q);
    if (diff !== 0) return Math.sign(diff);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === '') return 1;
  if (y.pre === '') return -1;
  return Math.sign(x.pre.localeCompare(y.pre, 'en', { numeric: true }));
}

/** The version after `version` with the patch part raised by one; `0.0.1` when there is none. */
function nextVersion(version: string | undefined): string {
  const match = version === undefined ? null : /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version);
  if (!match) return '0.0.1';
  return `${match[1]}.${match[2] ?? '0'}.${Number(match[3] ?? '0') + 1}`;
}

function humanDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

function route(method: string, template: string, handler: Handler): Route {
  const names: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        names.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { method, pattern: new RegExp(`^${source}$`, 'i'), names, handler };
}

// ---------------------------------------------------------------------------------------------

export async function startFakeOctopus(options: FakeOctopusOptions = {}): Promise<FakeOctopus> {
  const apiKey = options.apiKey ?? DEFAULT_API_KEY;
  const serverVersion = options.version ?? '2024.1.0';
  const installationId = randomUUID();
  const log = new CallLog<FakeOctopusCall>('fake Octopus');
  const calls = log.calls;
  const faults: Fault[] = [];
  const holds: Array<{ method: string; pathPattern: RegExp; gate: Promise<void>; arrive: (call: FakeOctopusCall) => void }> = [];
  const releaseHolds: Array<() => void> = [];
  const scripts: Array<{ states: OctopusTaskState[]; options: TaskScriptOptions }> = [];
  let baseUrl = '';

  const spaces: Space[] = [
    {
      Id: 'Spaces-1',
      Name: 'Default',
      Slug: 'default',
      Description: null,
      IsDefault: true,
      TaskQueueStopped: false,
      SpaceManagersTeams: ['teams-spacemanagers-Spaces-1'],
      SpaceManagersTeamMembers: [],
      Links: { Self: '/api/spaces/Spaces-1', SpaceHome: '/api/Spaces-1', Web: '/app#/spaces/Spaces-1' },
    },
  ];
  const SPACE_ID = 'Spaces-1';
  const projects: Project[] = [];
  const channels: Channel[] = [];
  const processes: DeploymentProcess[] = [];
  const environments: Environment[] = [];
  const tenants: Tenant[] = [];
  const machines: Machine[] = [];
  const packages = new Map<string, PackageVersion[]>();
  const releases: Release[] = [];
  const deployments: Deployment[] = [];
  const runtimes: TaskRuntime[] = [];
  const counters = new Map<string, number>();
  const nextId = (prefix: string) => {
    const n = (counters.get(prefix) ?? 0) + 1;
    counters.set(prefix, n);
    return `${prefix}-${n}`;
  };

  // -------------------------------------------------------------------------------------------
  // Lookups

  const byId = <T extends { Id: string }>(list: T[], id: string | undefined): T | undefined =>
    id === undefined ? undefined : list.find((item) => sameId(item.Id, id));

  function findProject(idOrSlugOrName: string | undefined, allowName = false): Project | undefined {
    if (idOrSlugOrName === undefined) return undefined;
    const wanted = idOrSlugOrName.toLowerCase();
    return (
      projects.find((p) => p.Id.toLowerCase() === wanted || p.Slug.toLowerCase() === wanted) ??
      (allowName ? projects.find((p) => p.Name.toLowerCase() === wanted) : undefined)
    );
  }

  const byName = <T extends { Id: string; Name: string }>(list: T[], idOrName: string | undefined): T | undefined =>
    idOrName === undefined ? undefined : (byId(list, idOrName) ?? list.find((item) => item.Name.toLowerCase() === idOrName.toLowerCase()));

  const processOf = (project: Project) => byId(processes, project.DeploymentProcessId);
  const channelsOf = (project: Project) => channels.filter((c) => c.ProjectId === project.Id);
  const defaultChannel = (project: Project) => channelsOf(project).find((c) => c.IsDefault) ?? channelsOf(project)[0];
  const releasesOf = (project: Project) => releases.filter((r) => r.ProjectId === project.Id);
  const lastRelease = (project: Project) => releasesOf(project).at(-1);
  const runtimeOf = (taskId: string | undefined) => runtimes.find((r) => taskId !== undefined && sameId(r.task.Id, taskId));

  function templatePackages(project: Project): Array<{ ActionName: string; PackageReferenceName: string; PackageId: string; FeedId: string }> {
    const result: Array<{ ActionName: string; PackageReferenceName: string; PackageId: string; FeedId: string }> = [];
    for (const step of processOf(project)?.Steps ?? []) {
      for (const action of step.Actions) {
        if (action.IsDisabled) continue;
        for (const pkg of action.Packages) result.push({ ActionName: action.Name, PackageReferenceName: pkg.Name, PackageId: pkg.PackageId, FeedId: pkg.FeedId });
      }
    }
    return result;
  }

  function releaseTemplate(project: Project): ReleaseTemplate {
    const last = lastRelease(project);
    return {
      DeploymentProcessId: project.DeploymentProcessId,
      LastReleaseVersion: last?.Version ?? null,
      NextVersionIncrement: nextVersion(last?.Version),
      VersioningPackageStepName: null,
      VersioningPackageReferenceName: null,
      Packages: templatePackages(project).map((p) => ({
        ActionName: p.ActionName,
        StepName: p.ActionName,
        PackageReferenceName: p.PackageReferenceName,
        PackageId: p.PackageId,
        FeedId: p.FeedId,
        FeedName: BUILTIN_FEED_NAME,
        VersionSelectedLastRelease:
          last?.SelectedPackages.find((s) => s.ActionName === p.ActionName && s.PackageReferenceName === p.PackageReferenceName)?.Version ?? null,
        FixedVersion: null,
        IsResolvable: true,
      })),
      GitResources: [],
    };
  }

  const versionsOf = (packageId: string) => [...(packages.get(packageId.toLowerCase()) ?? [])].sort((a, b) => compareVersions(b.Version, a.Version));
  const packageHas = (packageId: string, version: string) => versionsOf(packageId).some((v) => v.Version === version);

  const channelLinks = (projectId: string, channelId: string): Links => ({
    Self: `/api/${SPACE_ID}/channels/${channelId}`,
    Project: `/api/${SPACE_ID}/projects/${projectId}`,
    Releases: `/api/${SPACE_ID}/projects/${projectId}/channels/${channelId}/releases{?skip,take,searchByVersion}`,
  });

  /** Newest first; `searchByVersion` keeps versions that contain it anywhere (case-insensitive), as a text search would. */
  function searchReleases(list: Release[], query: Record<string, string>): Release[] {
    const search = query.searchByVersion?.toLowerCase();
    return list.filter((r) => !search || r.Version.toLowerCase().includes(search)).reverse();
  }

  // -------------------------------------------------------------------------------------------
  // State changes

  function addProject(p: { name: string; slug?: string; packageId?: string }): string {
    const slug = p.slug ?? slugify(p.name);
    if (projects.some((existing) => existing.Name.toLowerCase() === p.name.toLowerCase() || existing.Slug === slug)) {
      throw new Error(`fake Octopus: a project named ${JSON.stringify(p.name)} or with slug ${JSON.stringify(slug)} already exists`);
    }
    const id = nextId('Projects');
    const processId = `deploymentprocess-${id}`;
    const channelId = nextId('Channels');
    const actionName = `Deploy ${p.name}`;
    projects.push({
      Id: id,
      Name: p.name,
      Slug: slug,
      Description: '',
      SpaceId: SPACE_ID,
      DeploymentProcessId: processId,
      LifecycleId: 'Lifecycles-1',
      ProjectGroupId: 'ProjectGroups-1',
      IsDisabled: false,
      TenantedDeploymentMode: 'TenantedOrUntenanted',
      Links: {
        Self: `/api/${SPACE_ID}/projects/${id}`,
        Web: `/app#/${SPACE_ID}/projects/${slug}`,
        Releases: `/api/${SPACE_ID}/projects/${id}/releases{/version}{?skip,take,searchByVersion}`,
        Channels: `/api/${SPACE_ID}/projects/${id}/channels{?skip,take,partialName}`,
        DeploymentProcess: `/api/${SPACE_ID}/deploymentprocesses/${processId}`,
      },
    });
    channels.push({
      Id: channelId,
      Name: 'Default',
      Description: '',
      ProjectId: id,
      LifecycleId: null,
      IsDefault: true,
      SpaceId: SPACE_ID,
      Links: channelLinks(id, channelId),
    });
    const n = id.slice('Projects-'.length);
    processes.push({
      Id: processId,
      ProjectId: id,
      SpaceId: SPACE_ID,
      Version: 1,
      LastSnapshotId: null,
      Steps: [
        {
          Id: `step-${n}-1`,
          Name: actionName,
          Condition: 'Success',
          StartTrigger: 'StartAfterPrevious',
          PackageRequirement: 'LetOctopusDecide',
          Properties: { 'Octopus.Action.TargetRoles': 'web-server' },
          Actions: [
            {
              Id: `action-${n}-1`,
              Name: actionName,
              ActionType: 'Octopus.TentaclePackage',
              IsDisabled: false,
              Environments: [],
              ExcludedEnvironments: [],
              Channels: [],
              TenantTags: [],
              Packages: [
                {
                  Id: `package-${n}-1`,
                  Name: '',
                  PackageId: p.packageId ?? slug,
                  FeedId: BUILTIN_FEED_ID,
                  AcquisitionLocation: 'Server',
                  Properties: { SelectionMode: 'immediate' },
                },
              ],
              Properties: { 'Octopus.Action.Package.PackageId': p.packageId ?? slug, 'Octopus.Action.Package.FeedId': BUILTIN_FEED_ID },
            },
          ],
        },
      ],
      Links: {
        Self: `/api/${SPACE_ID}/deploymentprocesses/${processId}`,
        Project: `/api/${SPACE_ID}/projects/${id}`,
        Template: `/api/${SPACE_ID}/deploymentprocesses/${processId}/template{?channel,releaseId}`,
      },
    });
    return id;
  }

  function addEnvironment(name: string): string {
    const id = nextId('Environments');
    environments.push({
      Id: id,
      Name: name,
      Description: '',
      SpaceId: SPACE_ID,
      SortOrder: environments.length,
      UseGuidedFailure: false,
      AllowDynamicInfrastructure: true,
      Links: { Self: `/api/${SPACE_ID}/environments/${id}`, Web: `/app#/${SPACE_ID}/infrastructure/environments/${id}` },
    });
    return id;
  }

  function addPackageVersion(packageId: string, version: string): void {
    const key = packageId.toLowerCase();
    const list = packages.get(key) ?? [];
    if (list.some((v) => v.Version === version)) return;
    list.push({
      Id: `packages-${packageId}.${version}`,
      PackageId: packageId,
      FeedId: BUILTIN_FEED_ID,
      Version: version,
      Title: packageId,
      Published: octoTime(),
      SizeBytes: 1024 * (list.length + 1),
      ReleaseNotes: null,
    });
    packages.set(key, list);
  }

  function storeRelease(project: Project, channel: Channel, version: string, notes: string | null, selected: SelectedPackage[]): Release {
    const id = nextId('Releases');
    const release: Release = {
      Id: id,
      Version: version,
      ProjectId: project.Id,
      ChannelId: channel.Id,
      ReleaseNotes: notes,
      Assembled: octoTime(),
      SelectedPackages: selected,
      ProjectDeploymentProcessSnapshotId: `${project.DeploymentProcessId}-s-${releasesOf(project).length + 1}`,
      ProjectVariableSetSnapshotId: `variableset-${project.Id}-s-${releasesOf(project).length + 1}`,
      LibraryVariableSetSnapshotIds: [],
      BuildInformation: [],
      SpaceId: SPACE_ID,
      Links: {
        Self: `/api/${SPACE_ID}/releases/${id}`,
        Web: `/app#/${SPACE_ID}/releases/${id}`,
        Project: `/api/${SPACE_ID}/projects/${project.Id}`,
        Channel: `/api/${SPACE_ID}/channels/${channel.Id}`,
        Deployments: `/api/${SPACE_ID}/releases/${id}/deployments{?skip,take}`,
      },
    };
    releases.push(release);
    return release;
  }

  function addChannel(projectRef: string, c: { name: string; isDefault?: boolean }): string {
    const project = findProject(projectRef, true);
    if (!project) throw new Error(`fake Octopus: addChannel: no project ${JSON.stringify(projectRef)}`);
    if (byName(channelsOf(project), c.name)) throw new Error(`fake Octopus: addChannel: ${project.Name} already has a channel ${JSON.stringify(c.name)}`);
    const id = nextId('Channels');
    // A project has exactly one default channel.
    if (c.isDefault) for (const other of channelsOf(project)) other.IsDefault = false;
    channels.push({ Id: id, Name: c.name, Description: '', ProjectId: project.Id, LifecycleId: null, IsDefault: c.isDefault === true, SpaceId: SPACE_ID, Links: channelLinks(project.Id, id) });
    return id;
  }

  function addRelease(projectRef: string, version: string, options: { channel?: string } = {}): { Id: string; Version: string } {
    const project = findProject(projectRef, true);
    if (!project) throw new Error(`fake Octopus: addRelease: no project ${JSON.stringify(projectRef)}`);
    if (releasesOf(project).some((r) => r.Version === version)) throw new Error(`fake Octopus: addRelease: ${project.Name} already has release ${version}`);
    const channel = options.channel === undefined ? defaultChannel(project) : byName(channelsOf(project), options.channel);
    if (!channel) throw new Error(`fake Octopus: addRelease: ${project.Name} has no channel ${JSON.stringify(options.channel ?? '(default)')}`);
    const selected = templatePackages(project).map((p) => ({
      ActionName: p.ActionName,
      PackageReferenceName: p.PackageReferenceName,
      Version: packageHas(p.PackageId, version) ? version : (versionsOf(p.PackageId)[0]?.Version ?? version),
    }));
    const release = storeRelease(project, channel, version, null, selected);
    return { Id: release.Id, Version: release.Version };
  }

  function addTenant(name: string): string {
    const id = nextId('Tenants');
    tenants.push({
      Id: id,
      Name: name,
      Description: '',
      SpaceId: SPACE_ID,
      ProjectEnvironments: {},
      TenantTags: [],
      Links: { Self: `/api/${SPACE_ID}/tenants/${id}`, Web: `/app#/${SPACE_ID}/tenants/${id}/overview` },
    });
    return id;
  }

  function addMachine(m: { name: string; roles: string[]; environmentIds: string[] }): string {
    const id = nextId('Machines');
    machines.push({
      Id: id,
      Name: m.name,
      Roles: [...m.roles],
      EnvironmentIds: [...m.environmentIds],
      TenantIds: [],
      TenantedDeploymentParticipation: 'Untenanted',
      Status: 'Online',
      HealthStatus: 'Healthy',
      IsDisabled: false,
      SpaceId: SPACE_ID,
      Links: { Self: `/api/${SPACE_ID}/machines/${id}`, Web: `/app#/${SPACE_ID}/infrastructure/machines/${id}/settings` },
    });
    return id;
  }

  function nextTaskScript(states: OctopusTaskState[], scriptOptions: TaskScriptOptions = {}): void {
    if (states.length === 0) throw new Error('fake Octopus: nextTaskScript needs at least one state');
    for (const state of states) {
      if (!TASK_STATES.includes(state)) throw new Error(`fake Octopus: nextTaskScript: unknown state ${JSON.stringify(state)}`);
    }
    scripts.push({ states: [...states], options: { ...scriptOptions, ...(scriptOptions.log ? { log: [...scriptOptions.log] } : {}) } });
  }

  function setTaskState(taskId: string, state: OctopusTaskState, scriptOptions: TaskScriptOptions = {}): void {
    const runtime = runtimeOf(taskId);
    if (!runtime) throw new Error(`fake Octopus: setTaskState: no task ${JSON.stringify(taskId)}`);
    if (!TASK_STATES.includes(state)) throw new Error(`fake Octopus: setTaskState: unknown state ${JSON.stringify(state)}`);
    runtime.queue = [];
    if (scriptOptions.errorMessage !== undefined) runtime.errorMessage = scriptOptions.errorMessage;
    if (scriptOptions.log !== undefined) runtime.log = [...scriptOptions.log];
    applyState(runtime, state);
  }

  // -------------------------------------------------------------------------------------------
  // Tasks

  function defaultErrorMessage(runtime: TaskRuntime, state: OctopusTaskState): string {
    if (state === 'TimedOut') return `The task ${runtime.task.Id} did not finish within its time limit and was stopped (fake Octopus).`;
    const step = runtime.actionNames[0] ?? 'the first step';
    return `The deployment failed: step "${step}" reported an error (fake Octopus). See the task log for details.`;
  }

  function applyState(runtime: TaskRuntime, state: OctopusTaskState): void {
    const task = runtime.task;
    const now = new Date();
    if (task.State !== state) task.LastUpdatedTime = octoTime(now);
    task.State = state;
    if (task.StartTime === null && (state === 'Executing' || state === 'Success' || state === 'Failed' || state === 'TimedOut')) {
      task.StartTime = octoTime(now);
    }
    if (state !== 'Queued') {
      task.HasBeenPickedUpByProcessor = true;
      task.ServerNode = SERVER_NODE;
    }
    const done = isCompleted(state);
    task.IsCompleted = done;
    task.FinishedSuccessfully = state === 'Success';
    task.CanRerun = done;
    task.HasWarningsOrErrors = state === 'Failed' || state === 'TimedOut';
    task.ErrorMessage = state === 'Failed' || state === 'TimedOut' ? (runtime.errorMessage ?? defaultErrorMessage(runtime, state)) : '';
    if (done && task.CompletedTime === null) {
      task.CompletedTime = octoTime(now);
      task.Completed = now.toUTCString();
      const started = Date.parse(task.StartTime ?? task.QueueTime);
      task.Duration = humanDuration(now.getTime() - started);
    }
    const deployment = byId(deployments, runtime.deploymentId);
    if (deployment) deployment.FailureEncountered = task.HasWarningsOrErrors;
  }

  /** One read of the task: the next scripted state, if any. */
  function advance(runtime: TaskRuntime): ServerTask {
    const state = runtime.queue.shift();
    if (state !== undefined) applyState(runtime, state);
    return runtime.task;
  }

  function logLines(runtime: TaskRuntime): ActivityLogElement[] {
    const task = runtime.task;
    if (task.StartTime === null) return [];
    const failed = task.State === 'Failed' || task.State === 'TimedOut';
    const lines = runtime.log ? [...runtime.log] : [task.Description, ...runtime.actionNames.map((name) => `Running step "${name}"`)];
    if (!runtime.log && failed) lines.push(task.ErrorMessage);
    if (!runtime.log && task.State === 'Success') lines.push('Deployment completed');
    const start = Date.parse(task.StartTime);
    return lines.map((line, i) => ({
      Category: failed && i === lines.length - 1 ? 'Error' : 'Info',
      OccurredAt: octoTime(new Date(start + i * 10)),
      MessageText: line,
    }));
  }

  function activityStatus(state: OctopusTaskState): ActivityStatus {
    switch (state) {
      case 'Queued':
        return 'Pending';
      case 'Executing':
      case 'Cancelling':
        return 'Running';
      case 'Success':
        return 'Success';
      case 'Canceled':
        return 'Canceled';
      default:
        return 'Failed';
    }
  }

  function progressOf(state: OctopusTaskState): number {
    if (state === 'Queued') return 0;
    return isCompleted(state) ? 100 : 50;
  }

  function rawLog(runtime: TaskRuntime): string {
    return logLines(runtime)
      .map((e) => `${e.OccurredAt.slice(11, 19)}   ${e.Category.padEnd(8)} | ${e.MessageText}\n`)
      .join('');
  }

  function taskDetails(runtime: TaskRuntime, tail: number | undefined): TaskDetails {
    const task = runtime.task;
    const all = logLines(runtime);
    const logs = tail === undefined ? all : tail === 0 ? [] : all.slice(-tail);
    const status = activityStatus(task.State);
    const progress = progressOf(task.State);
    return {
      Task: task,
      Progress: { ProgressPercentage: progress, EstimatedTimeRemaining: task.IsCompleted ? '' : 'unknown' },
      PhysicalLogSize: Buffer.byteLength(rawLog(runtime)),
      ActivityLogs: [
        {
          Id: task.Id,
          Name: task.Description,
          Started: task.StartTime,
          Ended: task.CompletedTime,
          Status: status,
          ShowAtSummaryLevel: true,
          LogElements: logs,
          ProgressPercentage: progress,
          ProgressMessage: null,
          Children: runtime.actionNames.map((name, i) => ({
            Id: `${task.Id}_step${i + 1}`,
            Name: `Step ${i + 1}: ${name}`,
            Started: task.StartTime,
            Ended: task.CompletedTime,
            Status: status,
            Children: [],
            ShowAtSummaryLevel: true,
            LogElements: [],
            ProgressPercentage: progress,
            ProgressMessage: null,
          })),
        },
      ],
    };
  }

  function createDeployment(release: Release, environment: Environment, tenant: Tenant | undefined, comments: string | null): Deployment {
    const project = byId(projects, release.ProjectId);
    if (!project) throw new Error(`fake Octopus: release ${release.Id} has no project`);
    const id = nextId('Deployments');
    const taskId = nextId('ServerTasks');
    const now = octoTime();
    const deployment: Deployment = {
      Id: id,
      Name: `Deploy to ${environment.Name}`,
      ReleaseId: release.Id,
      EnvironmentId: environment.Id,
      TenantId: tenant?.Id ?? null,
      ProjectId: project.Id,
      ChannelId: release.ChannelId,
      TaskId: taskId,
      DeploymentProcessId: project.DeploymentProcessId,
      Comments: comments,
      FormValues: {},
      Created: now,
      DeployedBy: 'deckhand-api-user',
      FailureEncountered: false,
      SpaceId: SPACE_ID,
      Links: {
        Self: `/api/${SPACE_ID}/deployments/${id}`,
        Web: `/app#/${SPACE_ID}/deployments/${id}`,
        Task: `/api/tasks/${taskId}`,
        Release: `/api/${SPACE_ID}/releases/${release.Id}`,
        Environment: `/api/${SPACE_ID}/environments/${environment.Id}`,
        Project: `/api/${SPACE_ID}/projects/${project.Id}`,
      },
    };
    deployments.push(deployment);

    const script = scripts.shift() ?? { states: DEFAULT_SCRIPT, options: {} };
    const task: ServerTask = {
      Id: taskId,
      Name: 'Deploy',
      Description: `Deploy ${project.Name} release ${release.Version} to ${environment.Name}${tenant ? ` for ${tenant.Name}` : ''}`,
      Arguments: { DeploymentId: id },
      State: 'Queued',
      Completed: null,
      QueueTime: now,
      QueueTimeExpiry: null,
      StartTime: null,
      LastUpdatedTime: now,
      CompletedTime: null,
      ServerNode: null,
      Duration: null,
      ErrorMessage: '',
      HasBeenPickedUpByProcessor: false,
      IsCompleted: false,
      FinishedSuccessfully: false,
      HasPendingInterruptions: false,
      CanRerun: false,
      HasWarningsOrErrors: false,
      ProjectId: project.Id,
      SpaceId: SPACE_ID,
      Links: {
        Self: `/api/tasks/${taskId}`,
        Web: `/app#/${SPACE_ID}/tasks/${taskId}`,
        Raw: `/api/tasks/${taskId}/raw`,
        Rerun: `/api/tasks/rerun/${taskId}`,
        Cancel: `/api/tasks/${taskId}/cancel`,
        QueuedBehind: `/api/tasks?queuedBehind=${taskId}`,
        Details: `/api/tasks/${taskId}/details{?verbose,tail}`,
        Artifacts: `/api/${SPACE_ID}/artifacts?regarding=${taskId}`,
        Interruptions: `/api/${SPACE_ID}/interruptions?regarding=${taskId}`,
      },
    };
    const runtime: TaskRuntime = {
      task,
      deploymentId: id,
      queue: [...script.states],
      errorMessage: script.options.errorMessage,
      log: script.options.log,
      actionNames: templatePackages(project).map((p) => p.ActionName),
    };
    if (runtime.actionNames.length === 0) runtime.actionNames = (processOf(project)?.Steps ?? []).map((s) => s.Name);
    runtimes.push(runtime);
    applyState(runtime, script.states[0] ?? 'Queued');
    return deployment;
  }

  // -------------------------------------------------------------------------------------------
  // Collections

  function collection<T>(itemType: string, items: T[], query: Record<string, string>): Reply {
    const skip = intParam(query.skip, 0);
    const take = intParam(query.take, 30);
    const pages = take > 0 ? Math.max(1, Math.ceil(items.length / take)) : 1;
    return {
      status: 200,
      body: {
        ItemType: itemType,
        TotalResults: items.length,
        ItemsPerPage: take,
        NumberOfPages: pages,
        LastPageNumber: pages - 1,
        Items: items.slice(skip, skip + take),
        Links: {},
      },
    };
  }

  /** `partialName` (case-insensitive substring) and `ids` (comma-separated) filters. */
  function filtered<T extends { Id: string; Name: string }>(items: T[], query: Record<string, string>): T[] {
    const partial = query.partialName?.toLowerCase();
    const ids = query.ids
      ?.split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    return items.filter((item) => (!partial || item.Name.toLowerCase().includes(partial)) && (!ids || ids.length === 0 || ids.some((id) => sameId(id, item.Id))));
  }

  const listIn = (values: string | undefined) =>
    values
      ?.split(',')
      .map((v) => v.trim())
      .filter(Boolean) ?? [];

  // -------------------------------------------------------------------------------------------
  // Routes (paths relative to the space: /api/Spaces-1<path>)

  const releaseFailed = (errors: string[]) => error(400, 'The release could not be created.', errors);
  const deploymentFailed = (errors: string[]) => error(400, 'The deployment could not be created.', errors);

  function getProcess(params: Params): Reply {
    const process = byId(processes, params.processId);
    return process ? { status: 200, body: process } : notFound(`deployment process ${params.processId}`);
  }

  function getTemplate(project: Project | undefined, what: string): Reply {
    return project ? { status: 200, body: releaseTemplate(project) } : notFound(what);
  }

  function createReleaseClassic(_params: Params, call: FakeOctopusCall): Reply {
    const body = asObject(call.body);
    const projectId = str(body.ProjectId);
    if (!projectId) return releaseFailed(['ProjectId is required.']);
    const project = byId(projects, projectId);
    if (!project) return releaseFailed([`There is no project with id ${projectId} in space ${SPACE_ID}.`]);
    const errors: string[] = [];
    const version = str(body.Version);
    if (!version) errors.push('Version is required.');
    else if (!/^\d+(\.\d+){0,3}([-+][0-9A-Za-z.+-]*)?$/.test(version)) errors.push(`"${version}" is not a valid version number.`);
    const channelId = str(body.ChannelId);
    const channel = channelId ? channelsOf(project).find((c) => sameId(c.Id, channelId)) : defaultChannel(project);
    if (!channel) errors.push(`Channel ${channelId ?? '(default)'} does not belong to project "${project.Name}".`);

    const given = (Array.isArray(body.SelectedPackages) ? body.SelectedPackages : []).map((entry) => {
      const o = asObject(entry);
      return {
        ActionName: str(o.ActionName) ?? str(o.StepName) ?? '',
        PackageReferenceName: typeof o.PackageReferenceName === 'string' ? o.PackageReferenceName : '',
        Version: str(o.Version),
      };
    });
    const selected: SelectedPackage[] = [];
    for (const p of templatePackages(project)) {
      const match = given.find((g) => g.ActionName.toLowerCase() === p.ActionName.toLowerCase() && g.PackageReferenceName === p.PackageReferenceName);
      if (!match?.Version) {
        errors.push(`No package version was selected for package "${p.PackageId}" of step "${p.ActionName}".`);
        continue;
      }
      if (!packageHas(p.PackageId, match.Version)) {
        errors.push(`Version ${match.Version} of package "${p.PackageId}" was not found in the feed "${BUILTIN_FEED_NAME}".`);
        continue;
      }
      selected.push({ ActionName: p.ActionName, PackageReferenceName: p.PackageReferenceName, Version: match.Version });
    }
    if (version && releasesOf(project).some((r) => r.Version === version)) {
      errors.push(`A release with the version ${version} already exists for this project.`);
    }
    if (errors.length > 0 || !version || !channel) return releaseFailed(errors);
    const notes = typeof body.ReleaseNotes === 'string' ? body.ReleaseNotes : null;
    return { status: 201, body: storeRelease(project, channel, version, notes, selected) };
  }

  /** `POST /releases/create/v1` (executions API). Packages entries: `Step:Version`, `Step:Ref:Version` or `PackageId:Version`. */
  function createReleaseV1(_params: Params, call: FakeOctopusCall): Reply {
    const body = asObject(call.body);
    const projectRef = str(body.ProjectName) ?? str(body.ProjectIdOrName) ?? str(body.ProjectIDOrName);
    const project = findProject(projectRef, true);
    if (!project) return releaseFailed([projectRef ? `Project "${projectRef}" was not found.` : 'ProjectName is required.']);
    const channelName = str(body.ChannelName);
    const channel = channelName ? byName(channelsOf(project), channelName) : defaultChannel(project);
    if (!channel) return releaseFailed([`Channel "${channelName}" was not found in project "${project.Name}".`]);
    const version = str(body.ReleaseVersion) ?? nextVersion(lastRelease(project)?.Version);
    const existing = releasesOf(project).find((r) => r.Version === version);
    if (existing) {
      if (body.IgnoreIfAlreadyExists === true) return { status: 200, body: { ReleaseId: existing.Id, ReleaseVersion: existing.Version } };
      return releaseFailed([`A release with the version ${version} already exists for this project.`]);
    }
    const specs = (Array.isArray(body.Packages) ? body.Packages : []).filter((p): p is string => typeof p === 'string').map((p) => p.split(/[:=]/));
    const errors: string[] = [];
    const selected: SelectedPackage[] = [];
    for (const p of templatePackages(project)) {
      const spec = specs.find((parts) => {
        const key = parts[0]?.toLowerCase();
        const ref = parts.length >= 3 ? parts[1] : '';
        return (key === p.ActionName.toLowerCase() || key === p.PackageId.toLowerCase()) && ref === p.PackageReferenceName;
      });
      const wanted = spec?.at(-1) ?? str(body.PackageVersion) ?? versionsOf(p.PackageId)[0]?.Version;
      if (!wanted) errors.push(`No version of package "${p.PackageId}" could be found for step "${p.ActionName}".`);
      else if (!packageHas(p.PackageId, wanted)) errors.push(`Version ${wanted} of package "${p.PackageId}" was not found in the feed "${BUILTIN_FEED_NAME}".`);
      else selected.push({ ActionName: p.ActionName, PackageReferenceName: p.PackageReferenceName, Version: wanted });
    }
    if (errors.length > 0) return releaseFailed(errors);
    const release = storeRelease(project, channel, version, typeof body.ReleaseNotes === 'string' ? body.ReleaseNotes : null, selected);
    return { status: 200, body: { ReleaseId: release.Id, ReleaseVersion: release.Version } };
  }

  function createDeploymentClassic(_params: Params, call: FakeOctopusCall): Reply {
    const body = asObject(call.body);
    const errors: string[] = [];
    const releaseId = str(body.ReleaseId);
    const release = byId(releases, releaseId);
    if (!release) errors.push(releaseId ? `Release ${releaseId} was not found.` : 'ReleaseId is required.');
    const environmentId = str(body.EnvironmentId);
    const environment = byId(environments, environmentId);
    if (!environment) errors.push(environmentId ? `Environment ${environmentId} was not found.` : 'EnvironmentId is required.');
    const tenantId = str(body.TenantId);
    const tenant = byId(tenants, tenantId);
    if (tenantId && !tenant) errors.push(`Tenant ${tenantId} was not found.`);
    if (errors.length > 0 || !release || !environment) return deploymentFailed(errors);
    const comments = typeof body.Comments === 'string' ? body.Comments : null;
    return { status: 201, body: createDeployment(release, environment, tenant, comments) };
  }

  /** `POST /deployments/create/untenanted/v1` and `/create/tenanted/v1` (executions API). */
  function createDeploymentV1(tenanted: boolean): Handler {
    return (_params, call) => {
      const body = asObject(call.body);
      const projectRef = str(body.ProjectName) ?? str(body.ProjectIdOrName) ?? str(body.ProjectIDOrName);
      const project = findProject(projectRef, true);
      if (!project) return deploymentFailed([projectRef ? `Project "${projectRef}" was not found.` : 'ProjectName is required.']);
      const version = str(body.ReleaseVersion);
      const release = releasesOf(project).find((r) => r.Version === version);
      if (!release) return deploymentFailed([version ? `Release ${version} of project "${project.Name}" was not found.` : 'ReleaseVersion is required.']);
      const names = tenanted ? [str(body.EnvironmentName)].filter((n): n is string => n !== undefined) : Array.isArray(body.EnvironmentNames) ? body.EnvironmentNames.filter((n): n is string => typeof n === 'string') : [];
      const errors: string[] = [];
      if (names.length === 0) errors.push(tenanted ? 'EnvironmentName is required.' : 'EnvironmentNames must name at least one environment.');
      const targets: Environment[] = [];
      for (const name of names) {
        const environment = byName(environments, name);
        if (environment) targets.push(environment);
        else errors.push(`Environment "${name}" was not found.`);
      }
      const tenantList: Array<Tenant | undefined> = [];
      if (tenanted) {
        const tenantNames = Array.isArray(body.Tenants) ? body.Tenants.filter((n): n is string => typeof n === 'string') : [];
        if (tenantNames.length === 0) errors.push('Tenants must name at least one tenant.');
        for (const name of tenantNames) {
          const tenant = byName(tenants, name);
          if (tenant) tenantList.push(tenant);
          else errors.push(`Tenant "${name}" was not found.`);
        }
      } else {
        tenantList.push(undefined);
      }
      if (errors.length > 0) return deploymentFailed(errors);
      const created: Array<{ DeploymentId: string; ServerTaskId: string }> = [];
      for (const environment of targets) {
        for (const tenant of tenantList) {
          const deployment = createDeployment(release, environment, tenant, null);
          created.push({ DeploymentId: deployment.Id, ServerTaskId: deployment.TaskId });
        }
      }
      return { status: 200, body: { DeploymentServerTasks: created } };
    };
  }

  function withTask(handler: (runtime: TaskRuntime, call: FakeOctopusCall) => Reply): Handler {
    return (params, call) => {
      const runtime = runtimeOf(params.taskId);
      return runtime ? handler(runtime, call) : notFound(`task ${params.taskId}`);
    };
  }

  const spaceRoutes: Route[] = [
    route('GET', '', () => ({ status: 200, body: { Id: SPACE_ID, Links: { Self: `/api/${SPACE_ID}`, Projects: `/api/${SPACE_ID}/projects{/id}{?skip,take,ids,partialName}` } } })),

    route('GET', '/projects', (_p, call) => collection('Project', filtered(projects, call.query), call.query)),
    route('GET', '/projects/all', () => ({ status: 200, body: projects })),
    route('GET', '/projects/:project', (p) => {
      const project = findProject(p.project);
      return project ? { status: 200, body: project } : notFound(`project ${p.project}`);
    }),
    route('GET', '/projects/:project/channels', (p, call) => {
      const project = findProject(p.project);
      return project ? collection('Channel', filtered(channelsOf(project), call.query), call.query) : notFound(`project ${p.project}`);
    }),
    route('GET', '/projects/:project/releases', (p, call) => {
      const project = findProject(p.project);
      return project ? collection('Release', searchReleases(releasesOf(project), call.query), call.query) : notFound(`project ${p.project}`);
    }),
    route('GET', '/projects/:project/channels/:channelId/releases', (p, call) => {
      const project = findProject(p.project);
      const channel = project ? channelsOf(project).find((c) => sameId(c.Id, p.channelId ?? '')) : undefined;
      if (!project || !channel) return notFound(project ? `channel ${p.channelId} of project ${p.project}` : `project ${p.project}`);
      return collection('Release', searchReleases(releasesOf(project).filter((r) => r.ChannelId === channel.Id), call.query), call.query);
    }),
    route('GET', '/projects/:project/releases/:version', (p) => {
      const project = findProject(p.project);
      const release = project ? releasesOf(project).find((r) => r.Version === p.version) : undefined;
      return release ? { status: 200, body: release } : notFound(`release ${p.version} of project ${p.project}`);
    }),
    route('GET', '/projects/:project/deploymentprocesses', (p) => {
      const project = findProject(p.project);
      const process = project ? processOf(project) : undefined;
      return process ? { status: 200, body: process } : notFound(`project ${p.project}`);
    }),
    route('GET', '/projects/:project/deploymentprocesses/template', (p) => getTemplate(findProject(p.project), `project ${p.project}`)),

    route('GET', '/channels/:channelId', (p) => {
      const channel = byId(channels, p.channelId);
      return channel ? { status: 200, body: channel } : notFound(`channel ${p.channelId}`);
    }),

    route('GET', '/environments', (_p, call) => collection('Environment', filtered(environments, call.query), call.query)),
    route('GET', '/environments/all', () => ({ status: 200, body: environments })),
    route('GET', '/environments/:id', (p) => {
      const environment = byId(environments, p.id);
      return environment ? { status: 200, body: environment } : notFound(`environment ${p.id}`);
    }),

    route('GET', '/tenants', (_p, call) => collection('Tenant', filtered(tenants, call.query), call.query)),
    route('GET', '/tenants/all', () => ({ status: 200, body: tenants })),
    route('GET', '/tenants/:id', (p) => {
      const tenant = byId(tenants, p.id);
      return tenant ? { status: 200, body: tenant } : notFound(`tenant ${p.id}`);
    }),

    route('GET', '/machines', (_p, call) => {
      const roles = listIn(call.query.roles);
      const envs = listIn(call.query.environmentIds);
      const items = filtered(machines, call.query).filter(
        (m) => (roles.length === 0 || m.Roles.some((r) => roles.includes(r))) && (envs.length === 0 || m.EnvironmentIds.some((e) => envs.includes(e))),
      );
      return collection('DeploymentTarget', items, call.query);
    }),
    route('GET', '/machines/all', () => ({ status: 200, body: machines })),
    route('GET', '/machines/:id', (p) => {
      const machine = byId(machines, p.id);
      return machine ? { status: 200, body: machine } : notFound(`machine ${p.id}`);
    }),

    route('GET', '/deploymentprocesses/:processId', getProcess),
    route('GET', '/deploymentprocesses/:processId/template', (p) => {
      const process = byId(processes, p.processId);
      return getTemplate(process ? byId(projects, process.ProjectId) : undefined, `deployment process ${p.processId}`);
    }),

    route('GET', '/feeds/:feedId/packages/versions', (p, call) => {
      if (!sameId(p.feedId ?? '', BUILTIN_FEED_ID)) return notFound(`feed ${p.feedId}`);
      const packageId = str(call.query.packageId);
      if (!packageId) return error(400, 'The request was not valid.', ['packageId is required.']);
      return collection('Package', versionsOf(packageId), call.query);
    }),

    route('POST', '/releases', createReleaseClassic),
    route('GET', '/releases', (_p, call) => collection('Release', [...releases].reverse(), call.query)),
    route('POST', '/releases/create/v1', createReleaseV1),
    route('GET', '/releases/:id', (p) => {
      const release = byId(releases, p.id);
      return release ? { status: 200, body: release } : notFound(`release ${p.id}`);
    }),
    route('GET', '/releases/:id/deployments', (p, call) => {
      const release = byId(releases, p.id);
      if (!release) return notFound(`release ${p.id}`);
      return collection(
        'Deployment',
        deployments.filter((d) => d.ReleaseId === release.Id).reverse(),
        call.query,
      );
    }),

    route('POST', '/deployments', createDeploymentClassic),
    route('POST', '/deployments/create/untenanted/v1', createDeploymentV1(false)),
    route('POST', '/deployments/create/tenanted/v1', createDeploymentV1(true)),
    route('GET', '/deployments', (_p, call) => {
      const filters = {
        projects: listIn(call.query.projects),
        environments: listIn(call.query.environments),
        tenants: listIn(call.query.tenants),
        channels: listIn(call.query.channels),
        taskState: listIn(call.query.taskState),
      };
      const inList = (list: string[], value: string | null | undefined) => list.length === 0 || (value != null && list.some((v) => sameId(v, value)));
      const items = deployments
        .filter(
          (d) =>
            inList(filters.projects, d.ProjectId) &&
            inList(filters.environments, d.EnvironmentId) &&
            inList(filters.tenants, d.TenantId) &&
            inList(filters.channels, d.ChannelId) &&
            inList(filters.taskState, runtimeOf(d.TaskId)?.task.State),
        )
        .reverse();
      return collection('Deployment', items, call.query);
    }),
    route('GET', '/deployments/:id', (p) => {
      const deployment = byId(deployments, p.id);
      return deployment ? { status: 200, body: deployment } : notFound(`deployment ${p.id}`);
    }),

    route('GET', '/tasks', (_p, call) => {
      const ids = listIn(call.query.ids);
      const states = listIn(call.query.states);
      const selected = runtimes.filter((r) => (ids.length === 0 || ids.some((id) => sameId(id, r.task.Id))) && (states.length === 0 || states.includes(r.task.State)));
      // Naming a task in `ids` reads it, like GET tasks/{id}.
      const items = selected.map((r) => (ids.length > 0 ? advance(r) : r.task)).reverse();
      return collection('ServerTask', items, call.query);
    }),
    route('GET', '/tasks/:taskId', withTask((runtime) => ({ status: 200, body: advance(runtime) }))),
    route(
      'GET',
      '/tasks/:taskId/details',
      withTask((runtime, call) => {
        const tail = call.query.tail !== undefined && /^\d+$/.test(call.query.tail) ? Number(call.query.tail) : undefined;
        return { status: 200, body: taskDetails(runtime, tail) };
      }),
    ),
    route('GET', '/tasks/:taskId/raw', withTask((runtime) => ({ status: 200, text: rawLog(runtime) }))),
    route(
      'POST',
      '/tasks/:taskId/cancel',
      withTask((runtime) => {
        if (!runtime.task.IsCompleted) {
          applyState(runtime, 'Cancelling');
          runtime.queue = ['Canceled'];
        }
        return { status: 200, body: runtime.task };
      }),
    ),
  ];

  function dispatch(routes: Route[], path: string, call: FakeOctopusCall): Reply {
    let methodMismatch = false;
    for (const r of routes) {
      const match = r.pattern.exec(path);
      if (!match) continue;
      if (r.method !== call.method) {
        methodMismatch = true;
        continue;
      }
      const params: Params = {};
      r.names.forEach((name, i) => {
        params[name] = decodeURIComponent(match[i + 1] ?? '');
      });
      return r.handler(params, call);
    }
    if (methodMismatch) return error(405, `The method ${call.method} is not allowed on ${call.path}.`);
    return notFound(`${call.method} ${call.path}`);
  }

  const spaceListRoutes: Route[] = [
    route('GET', '', (_p, call) => collection('Space', filtered(spaces, call.query), call.query)),
    route('GET', '/all', () => ({ status: 200, body: spaces })),
    route('GET', '/:id', (p) => {
      const space = byId(spaces, p.id);
      return space ? { status: 200, body: space } : notFound(`space ${p.id}`);
    }),
  ];

  function respond(call: FakeOctopusCall, rawBody: string): Reply {
    if (call.headers['x-octopus-apikey'] !== apiKey) return error(401, UNAUTHORISED);

    const fault = faults.find((f) => matchesMethod(f.method, call.method) && testPattern(f.pathPattern, call.path));
    if (fault) {
      fault.remaining--;
      if (fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1);
      if (fault.status === 0) return { status: 0 };
      return error(fault.status, `${STATUS_CODES[fault.status] ?? 'Error'} (failure injected by the fake Octopus server)`);
    }

    if (rawBody.trim() !== '' && typeof call.body === 'string') {
      return error(400, 'The request body is not valid JSON.', ['Could not parse the request body as JSON.']);
    }

    const path = call.path.length > 1 ? call.path.replace(/\/+$/, '') : call.path;
    if (path === '/api') {
      if (call.method !== 'GET') return error(405, `The method ${call.method} is not allowed on /api.`);
      return { status: 200, body: { Application: 'Octopus Deploy', Version: serverVersion, ApiVersion: '3.0.0', InstallationId: installationId, Links: {} } };
    }
    const spaceList = /^\/api\/spaces(\/.*)?$/i.exec(path);
    if (spaceList) return dispatch(spaceListRoutes, spaceList[1] ?? '', call);
    const scoped = /^\/api\/(spaces-\d+)(\/.*)?$/i.exec(path);
    if (scoped) {
      if (!byId(spaces, scoped[1])) return notFound(`space ${scoped[1]}`);
      return dispatch(spaceRoutes, scoped[2] ?? '', call);
    }
    // /api/tasks/... and other routes without a space id: the default space.
    const unscoped = /^\/api(\/.+)$/.exec(path);
    if (unscoped?.[1]) return dispatch(spaceRoutes.slice(1), unscoped[1], call);
    return notFound(`${call.method} ${call.path}`);
  }

  // -------------------------------------------------------------------------------------------
  // Seed

  addProject({ name: 'Core Web', slug: 'core-web', packageId: 'web' });
  addEnvironment('Staging');
  addEnvironment('Production');
  addPackageVersion('web', '1.3.0');
  addPackageVersion('web', '1.4.0');

  // -------------------------------------------------------------------------------------------
  // Webhooks

  function subscriptionPayload(target: { url: string; headerKey?: string }, event: SubscriptionEventInput): unknown {
    const now = new Date();
    const eventId = event.eventId ?? nextId('Events');
    const deploymentId = event.relatedDocumentIds.find((id) => /^Deployments-/i.test(id));
    const deployment = byId(deployments, deploymentId);
    const release = deployment ? byId(releases, deployment.ReleaseId) : undefined;
    const project = deployment ? byId(projects, deployment.ProjectId) : undefined;
    const environment = deployment ? byId(environments, deployment.EnvironmentId) : undefined;
    const verbs: Record<string, string> = {
      DeploymentQueued: 'queued',
      DeploymentStarted: 'started',
      DeploymentSucceeded: 'succeeded',
      DeploymentFailed: 'failed',
      DeploymentResumed: 'resumed',
    };
    const verb = verbs[event.category];
    let message = event.message;
    const references: Array<{ ReferencedDocumentId: string; StartIndex: number; Length: number }> = [];
    if (message === undefined && deployment && verb && release && project && environment) {
      message = `${deployment.Name} ${verb} for ${project.Name} release ${release.Version} to ${environment.Name}`;
      references.push({ ReferencedDocumentId: deployment.Id, StartIndex: 0, Length: deployment.Name.length });
    }
    message ??= `${event.category}: ${event.relatedDocumentIds.join(', ') || 'no related documents'}`;
    const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;');
    const messageHtml = deployment && references.length > 0
      ? `<a href='#/${SPACE_ID}/deployments/${deployment.Id}'>${escapeHtml(deployment.Name)}</a>${escapeHtml(message.slice(deployment.Name.length))}`
      : escapeHtml(message);
    const username = event.username ?? 'system';
    return {
      Timestamp: octoTime(now),
      EventType: 'SubscriptionPayload',
      Payload: {
        ServerUri: baseUrl,
        ServerAuditUri: `${baseUrl}/app#/${SPACE_ID}/configuration/audit?eventCategories=${encodeURIComponent(event.category)}&from=${encodeURIComponent(octoTime(new Date(now.getTime() - 30_000)))}&to=${encodeURIComponent(octoTime(now))}`,
        BatchProcessingDate: octoTime(now),
        BatchId: randomUUID(),
        TotalEventsInBatch: 1,
        EventNumberInBatch: 1,
        Subscription: {
          Id: 'Subscriptions-1',
          Name: 'Deckhand',
          Type: 'Event',
          IsDisabled: false,
          SpaceId: SPACE_ID,
          EventNotificationSubscription: {
            Filter: { EventCategories: [event.category], EventGroups: [], Projects: [], ProjectGroups: [], Environments: [], Tenants: [], Tags: [], DocumentTypes: [], Users: [] },
            WebhookURI: target.url,
            WebhookHeaderKey: target.headerKey ?? null,
            WebhookTimeout: '00:00:10',
          },
          Links: { Self: `/api/${SPACE_ID}/subscriptions/Subscriptions-1` },
        },
        Event: {
          Id: eventId,
          Category: event.category,
          Occurred: octoTime(now),
          Message: message,
          MessageHtml: messageHtml,
          MessageReferences: references,
          RelatedDocumentIds: [...event.relatedDocumentIds],
          SpaceId: SPACE_ID,
          UserId: username === 'system' ? 'users-system' : 'Users-1',
          Username: username,
          IsService: false,
          UserAgent: 'Server',
          Comments: null,
          Details: null,
          ChangeDetails: null,
          Links: { Self: `/api/events/${eventId}` },
        },
      },
    };
  }

  function emitSubscriptionEvent(
    target: { url: string; headerKey?: string; headerValue?: string },
    event: SubscriptionEventInput,
  ): Promise<{ status: number; body: string }> {
    const payload = Buffer.from(JSON.stringify(subscriptionPayload(target, event)));
    const url = new URL(target.url);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': payload.length,
      'user-agent': 'Octopus-Subscription (fake)',
    };
    if (target.headerKey !== undefined) headers[target.headerKey] = target.headerValue ?? '';
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'POST', headers, agent: false, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`fake Octopus: webhook to ${target.url} timed out after 10 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { call, rawBody } = await readIncoming(req, baseUrl);
    const reply = respond(call, rawBody);
    const hold = holds.find((h) => matchesMethod(h.method, call.method) && testPattern(h.pathPattern, call.path));
    if (hold) {
      holds.splice(holds.indexOf(hold), 1);
      hold.arrive(call);
      await hold.gate;
    }
    call.status = reply.status;
    if (reply.status === 0) {
      res.destroy();
      log.record(call);
      return;
    }
    if (reply.text !== undefined) {
      res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(reply.text);
    } else {
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    }
    log.record(call);
  }

  const server = createServer((req, res) => {
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ ErrorMessage: `fake Octopus crashed: ${message}`, Errors: [] }));
    });
  });

  baseUrl = await listenLocal(server);

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    apiKey,
    calls,
    callsTo: log.callsTo,
    waitForCall: log.waitForCall,
    addProject,
    addEnvironment,
    addPackageVersion,
    addChannel,
    addRelease,
    addTenant,
    addMachine,
    nextTaskScript,
    setTaskState,
    failNext(method, pathPattern, status, times = 1) {
      faults.push({ method, pathPattern, status, remaining: times });
    },
    holdNext(method, pathPattern) {
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      releaseHolds.push(release);
      let arrive: (call: FakeOctopusCall) => void = () => {};
      const arrived = new Promise<FakeOctopusCall>((resolve) => (arrive = resolve));
      holds.push({ method, pathPattern, gate, arrive });
      return { arrived, release };
    },
    releases: () => [...releases],
    deployments: () => [...deployments],
    tasks: () => runtimes.map((r) => r.task),
    projects: () => [...projects],
    environments: () => [...environments],
    emitSubscriptionEvent,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const release of releaseHolds) release();
        log.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
