/**
 * A fake GitHub REST API on 127.0.0.1 for tests of code that talks to GitHub through Octokit.
 * It rejects what the real API would reject: every request is routed with GitHub's own OpenAPI
 * description and its JSON body is checked against the operation's schema (see
 * openapi-validator.ts), so a request GitHub would refuse fails here too, with a 422 and an
 * entry in `schemaViolations` that a test can assert stays empty.
 *
 *   const fake = await startFakeGitHub({ repos: ['acme/api'] });
 *   fake.setRef('acme', 'api', 'v1.2.0', 'a'.repeat(40));
 *   const octokit = new Octokit({ auth: fake.token, baseUrl: fake.url });
 *   await octokit.rest.repos.createDeployment({ owner: 'acme', repo: 'api', ref: 'v1.2.0', required_contexts: [] });
 *   expect(fake.schemaViolations).toEqual([]);
 *   await fake.close();
 *
 * Implemented: create/list/get deployments, create/list deployment statuses, get a repository.
 * Other operations of the description answer 501 (the call is recorded); paths that are not in the
 * description answer 404 and count as violations.
 *
 * Webhooks (`sendWebhooks({ url, secret })`): like a repository webhook, each deployment and each
 * deployment status created sends a signed `deployment` / `deployment_status` event (action
 * `created`), one at a time in creation order, without holding up the API's answer. Their bodies
 * are checked against the description's `x-webhooks` schemas (violations as above). More users
 * (`addUser(token, login)`) stand for other tools: the token used decides the `creator`/`sender`.
 * `holdNext` keeps the answer to one request back (its effects and webhooks happen) until released:
 * the webhook outrunning the API's answer, as it can on GitHub.
 *
 * Order of checks for each request: User-Agent (403), credentials (401), JSON syntax (400),
 * route and body schema (404/422, recorded as violations), then injected faults (`failNext`),
 * then the route itself (unknown repository → 404, unknown ref → 422, ...).
 */
import { createHash, createHmac, randomUUID, verify } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { findOperation, openApiResponse, validateRequest, validateWebhook, type MatchedOperation } from './openapi-validator.js';
import { CallLog, listenLocal, matchesMethod, readIncoming, testPattern, type RecordedCall } from '../incoming.js';

// ---------------------------------------------------------------------------------------------
// Public types

export interface FakeGitHubOptions {
  /** The only token accepted (`Authorization: token X` or `Bearer X`). Default `ghp_fake_token`. */
  token?: string;
  /** Repositories that exist from the start, as `owner/name` (more with `addRepo`/`setRef`). */
  repos?: string[];
  /** The user the token belongs to: creator of deployments and statuses. Default `octocat` (User). */
  user?: { login: string; type?: 'User' | 'Bot' };
  /**
   * A GitHub App: `POST /app/installations/{id}/access_tokens` with a JWT (RS256, signed by the
   * App's private key, `iss` = the App id, at most 10 minutes long) mints installation tokens,
   * which are then accepted like `token`.
   */
  app?: { id: number; publicKey: string; installationId: number };
}

/** A request the fake received (see RecordedCall), with the status it answered. */
export type FakeGitHubCall = RecordedCall;

/** A webhook the fake sent (see `sendWebhooks`), with the status the receiver answered (0: no answer). */
export interface FakeWebhookDelivery {
  event: 'deployment' | 'deployment_status';
  /** X-GitHub-Delivery. */
  deliveryId: string;
  body: Record<string, unknown>;
  status: number;
}

/** A request whose answer is held back (see `holdNext`). */
export interface HeldRequest {
  /** Resolves when the request has arrived and taken effect (its webhooks are queued). */
  arrived: Promise<FakeGitHubCall>;
  /** Sends the answer. */
  release(): void;
}

/** A request the real API would refuse as malformed (not: bad credentials, unknown repo or ref); method `WEBHOOK` for a webhook the fake sent. */
export interface SchemaViolation {
  method: string;
  path: string;
  body: unknown;
  problems: string[];
  status: number;
}

export interface SimpleUser {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  gravatar_id: string;
  url: string;
  html_url: string;
  followers_url: string;
  following_url: string;
  gists_url: string;
  starred_url: string;
  subscriptions_url: string;
  organizations_url: string;
  repos_url: string;
  events_url: string;
  received_events_url: string;
  type: string;
  site_admin: boolean;
}

/** The `deployment` object of the REST API. */
export interface Deployment {
  url: string;
  id: number;
  node_id: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  original_environment: string;
  environment: string;
  description: string | null;
  creator: SimpleUser;
  created_at: string;
  updated_at: string;
  statuses_url: string;
  repository_url: string;
  transient_environment: boolean;
  production_environment: boolean;
  performed_via_github_app: null;
}

export type DeploymentState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

/** The `deployment-status` object of the REST API. */
export interface DeploymentStatus {
  url: string;
  id: number;
  node_id: string;
  state: DeploymentState;
  creator: SimpleUser;
  description: string;
  environment: string;
  target_url: string;
  created_at: string;
  updated_at: string;
  deployment_url: string;
  repository_url: string;
  environment_url: string;
  log_url: string;
  performed_via_github_app: null;
}

export interface FakeGitHub {
  /** Base URL for Octokit's `baseUrl`, without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The accepted token. */
  token: string;
  /** Every request, in arrival order, with the status it got. */
  calls: FakeGitHubCall[];
  /** Installation tokens minted for the App (see options.app), oldest first. */
  installationTokens: string[];
  /** Requests GitHub would have refused as malformed; assert `toEqual([])` at the end of a test. */
  schemaViolations: SchemaViolation[];
  callsTo(method: string, pathPattern: RegExp): FakeGitHubCall[];
  /** The first call (past or future) matching; rejects after `timeoutMs` (default 5000). */
  waitForCall(method: string, pathPattern: RegExp, predicate?: (call: FakeGitHubCall) => boolean, timeoutMs?: number): Promise<FakeGitHubCall>;

  /** Creates a repository (idempotent). Its default branch (`main`) points at a made-up sha unless given. */
  addRepo(owner: string, repo: string, options?: { defaultBranch?: string; defaultBranchSha?: string; private?: boolean }): void;
  /** Points a branch or tag at a commit (creates the repository if needed). */
  setRef(owner: string, repo: string, ref: string, sha: string): void;
  /** Makes a commit known, so it can be deployed by sha without a branch or tag. */
  addCommit(owner: string, repo: string, sha: string): void;

  /** The next create-deployment that would succeed answers 409 (merge conflict) instead. */
  nextDeploymentConflict(message?: string): void;
  /** The next create-deployment that would succeed answers 202 (GitHub auto-merged the default branch) instead. */
  nextDeploymentAutoMerge(message?: string): void;
  /**
   * The next `times` requests matching method (`*` = any) and path answer `status` (after the
   * auth and schema checks; they change no state). Default body `{ message: <reason phrase> }`.
   * Status 0 drops the connection without an answer (a network error for the client).
   */
  failNext(method: string, pathPattern: RegExp, status: number, times?: number, options?: { body?: unknown; headers?: Record<string, string> }): void;

  /** Another user (another tool, a person) whose token the fake accepts; deployments and statuses made with it are theirs. */
  addUser(token: string, login: string, type?: 'User' | 'Bot'): void;
  /** From now on, deployments and statuses send webhooks to `url`, signed with `secret` (null: stop). */
  sendWebhooks(target: { url: string; secret: string } | null): void;
  /** Webhooks sent so far, in order. */
  webhooks: FakeWebhookDelivery[];
  /** Resolves once every webhook queued so far has been answered. */
  webhooksSent(): Promise<void>;
  /** The next request matching method (`*` = any) and path takes effect at once, but its answer waits for `release()`. */
  holdNext(method: string, pathPattern: RegExp): HeldRequest;

  /** Deployments of a repository, oldest first (the API lists newest first). */
  deployments(owner: string, repo: string): Deployment[];
  /** Statuses of a deployment, oldest first (the API lists newest first). */
  statuses(owner: string, repo: string, deploymentId: number): DeploymentStatus[];

  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// State

interface RepoState {
  owner: string;
  name: string;
  id: number;
  defaultBranch: string;
  private: boolean;
  refs: Map<string, string>;
  commits: Set<string>;
  deployments: Deployment[];
  statuses: Map<number, DeploymentStatus[]>;
  createdAt: string;
}

interface Reply {
  /** 0: drop the connection without answering. */
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Hold {
  method: string;
  pathPattern: RegExp;
  arrived: (call: FakeGitHubCall) => void;
  released: Promise<void>;
  release: () => void;
}

interface Fault {
  method: string;
  pathPattern: RegExp;
  status: number;
  remaining: number;
  body?: unknown;
  headers?: Record<string, string>;
}


const GENERIC_DOCS = 'https://docs.github.com/rest';

/** GitHub-style timestamps: no milliseconds. */
function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** GitHub's legacy global node ids: base64 of `<len><Type><id>`, e.g. `010:Deployment1`. */
function nodeId(type: string, id: number): string {
  return Buffer.from(`${String(type.length).padStart(3, '0')}:${type}${id}`).toString('base64');
}

function madeUpSha(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

function errorBody(status: number, message: string, documentationUrl = GENERIC_DOCS, extra: Record<string, unknown> = {}): Reply {
  return { status, body: { message, ...extra, documentation_url: documentationUrl, status: String(status) } };
}



// ---------------------------------------------------------------------------------------------

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const token = options.token ?? 'ghp_fake_token';
  const installationTokens: string[] = [];
  const log = new CallLog<FakeGitHubCall>('fake GitHub');
  const calls = log.calls;
  const schemaViolations: SchemaViolation[] = [];
  const repos = new Map<string, RepoState>();
  const faults: Fault[] = [];
  const holds: Hold[] = [];
  // Every hold ever made, so close() never leaves an answer (and a client) waiting.
  const allHolds: Hold[] = [];
  const webhooks: FakeWebhookDelivery[] = [];
  let webhookTarget: { url: string; secret: string } | null = null;
  // Webhooks go out one at a time, in the order their events happened.
  let webhookQueue: Promise<void> = Promise.resolve();
  let nextUserId = 2;
  const otherUsers = new Map<string, SimpleUser>();
  const deploymentOutcomes: Array<{ kind: 'conflict' | 'auto-merge'; message?: string }> = [];
  let nextRepoId = 1_296_269;
  let nextDeploymentId = 1;
  let nextStatusId = 1;
  let rateRemaining = 5000;
  let baseUrl = '';

  const user: SimpleUser = makeUser(options.user?.login ?? 'octocat', 1, options.user?.type ?? 'User');

  function makeUser(login: string, id: number, type: string): SimpleUser {
    const api = `${baseUrl}/users/${login}`;
    return {
      login,
      id,
      node_id: nodeId(type === 'Organization' ? 'Organization' : 'User', id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      gravatar_id: '',
      url: api,
      html_url: `https://github.com/${login}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type,
      site_admin: false,
    };
  }

  const repoKey = (owner: string, repo: string) => `${owner}/${repo}`.toLowerCase();
  const findRepo = (owner: string, repo: string) => repos.get(repoKey(owner, repo));

  function addRepo(owner: string, repo: string, repoOptions: { defaultBranch?: string; defaultBranchSha?: string; private?: boolean } = {}): void {
    const existing = findRepo(owner, repo);
    if (existing) {
      if (repoOptions.defaultBranch) existing.defaultBranch = repoOptions.defaultBranch;
      if (repoOptions.private !== undefined) existing.private = repoOptions.private;
      if (repoOptions.defaultBranchSha) existing.refs.set(existing.defaultBranch, repoOptions.defaultBranchSha.toLowerCase());
      return;
    }
    const defaultBranch = repoOptions.defaultBranch ?? 'main';
    const state: RepoState = {
      owner,
      name: repo,
      id: nextRepoId++,
      defaultBranch,
      private: repoOptions.private ?? false,
      refs: new Map([[defaultBranch, (repoOptions.defaultBranchSha ?? madeUpSha(`${owner}/${repo}@${defaultBranch}`)).toLowerCase()]]),
      commits: new Set(),
      deployments: [],
      statuses: new Map(),
      createdAt: timestamp(),
    };
    repos.set(repoKey(owner, repo), state);
  }

  function setRef(owner: string, repo: string, ref: string, sha: string): void {
    if (!/^[0-9a-f]{40}$/i.test(sha)) throw new Error(`setRef: ${JSON.stringify(sha)} is not a 40-character commit sha`);
    addRepo(owner, repo);
    findRepo(owner, repo)?.refs.set(ref.replace(/^refs\/(heads|tags)\//, ''), sha.toLowerCase());
  }

  function addCommit(owner: string, repo: string, sha: string): void {
    if (!/^[0-9a-f]{40}$/i.test(sha)) throw new Error(`addCommit: ${JSON.stringify(sha)} is not a 40-character commit sha`);
    addRepo(owner, repo);
    findRepo(owner, repo)?.commits.add(sha.toLowerCase());
  }

  /** A branch, tag (optionally `refs/heads/…`, `heads/…`), full sha or unambiguous sha prefix (7+). */
  function resolveRef(state: RepoState, ref: string): string | undefined {
    const name = ref.replace(/^(refs\/)?(heads|tags)\//, '');
    const named = state.refs.get(name);
    if (named) return named;
    if (!/^[0-9a-f]{7,40}$/i.test(ref)) return undefined;
    const known = new Set([...state.refs.values(), ...state.commits]);
    const candidates = [...known].filter((sha) => sha.startsWith(ref.toLowerCase()));
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  for (const fullName of options.repos ?? []) {
    const [owner, repo, ...rest] = fullName.split('/');
    if (!owner || !repo || rest.length > 0) throw new Error(`startFakeGitHub: repos entries are "owner/name", got ${JSON.stringify(fullName)}`);
    addRepo(owner, repo);
  }

  // -------------------------------------------------------------------------------------------
  // Response objects

  const repoApiUrl = (state: RepoState) => `${baseUrl}/repos/${state.owner}/${state.name}`;

  function repositoryObject(state: RepoState): Record<string, unknown> {
    // The description's own example of a full repository, re-pointed at this repository.
    const example = openApiResponse('GET', '/repos/o/r', 200)?.examples[0];
    const text = JSON.stringify(example ?? {})
      .split('https://api.github.com/repos/octocat/Hello-World')
      .join(repoApiUrl(state))
      .split('octocat/Hello-World')
      .join(`${state.owner}/${state.name}`)
      .split('https://api.github.com')
      .join(baseUrl);
    const repo = JSON.parse(text) as Record<string, unknown>;
    for (const key of ['template_repository', 'parent', 'source', 'organization']) delete repo[key];
    return {
      ...repo,
      id: state.id,
      node_id: nodeId('Repository', state.id),
      name: state.name,
      full_name: `${state.owner}/${state.name}`,
      owner: makeUser(state.owner, state.id + 1_000_000, 'User'),
      private: state.private,
      visibility: state.private ? 'private' : 'public',
      description: null,
      homepage: null,
      language: null,
      mirror_url: null,
      topics: [],
      default_branch: state.defaultBranch,
      forks_count: 0,
      forks: 0,
      stargazers_count: 0,
      watchers_count: 0,
      watchers: 0,
      open_issues_count: 0,
      open_issues: 0,
      subscribers_count: 0,
      network_count: 0,
      is_template: false,
      permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
      created_at: state.createdAt,
      updated_at: state.createdAt,
      pushed_at: state.createdAt,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Routes

  /** `caller`: the user whose token made the request. */
  type Handler = (match: MatchedOperation, state: RepoState, call: FakeGitHubCall, caller: SimpleUser) => Reply;

  function listPage<T>(items: T[], call: FakeGitHubCall): Reply {
    const perPage = Math.min(Math.max(Number.parseInt(call.query.per_page ?? '30', 10) || 30, 1), 100);
    const page = Math.max(Number.parseInt(call.query.page ?? '1', 10) || 1, 1);
    const lastPage = Math.max(Math.ceil(items.length / perPage), 1);
    const body = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number, rel: string) => {
      const params = new URLSearchParams({ ...call.query, per_page: String(perPage), page: String(p) });
      return `<${baseUrl}${call.path}?${params.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, 'prev'), link(1, 'first'));
    if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
    return { status: 200, body, headers: links.length ? { link: links.join(', ') } : {} };
  }

  function findDeployment(state: RepoState, id: string | undefined): Deployment | undefined {
    if (!id || !/^\d+$/.test(id)) return undefined;
    return state.deployments.find((deployment) => deployment.id === Number(id));
  }

  function latestStatus(state: RepoState, deploymentId: number): DeploymentStatus | undefined {
    return state.statuses.get(deploymentId)?.at(-1);
  }

  function addStatus(state: RepoState, deployment: Deployment, fields: { state: DeploymentState; description: string; environment: string; log_url: string; environment_url: string }, creator: SimpleUser): DeploymentStatus {
    const id = nextStatusId++;
    const now = timestamp();
    const status: DeploymentStatus = {
      url: `${deployment.url}/statuses/${id}`,
      id,
      node_id: nodeId('DeploymentStatus', id),
      state: fields.state,
      creator,
      description: fields.description,
      environment: fields.environment,
      target_url: fields.log_url,
      created_at: now,
      updated_at: now,
      deployment_url: deployment.url,
      repository_url: repoApiUrl(state),
      environment_url: fields.environment_url,
      log_url: fields.log_url,
      performed_via_github_app: null,
    };
    const list = state.statuses.get(deployment.id) ?? [];
    list.push(status);
    state.statuses.set(deployment.id, list);
    deployment.environment = fields.environment;
    deployment.updated_at = now;
    sendWebhook('deployment_status', state, creator, { deployment_status: status, deployment: structuredClone(deployment), check_run: null, workflow: null, workflow_run: null });
    return status;
  }

  // -------------------------------------------------------------------------------------------
  // Webhooks

  function sendWebhook(event: FakeWebhookDelivery['event'], state: RepoState, sender: SimpleUser, fields: Record<string, unknown>): void {
    const target = webhookTarget;
    if (!target) return;
    const body = { action: 'created', ...fields, repository: repositoryObject(state), sender };
    const problems = validateWebhook(event === 'deployment' ? 'deployment-created' : 'deployment-status-created', body);
    if (problems.length > 0) schemaViolations.push({ method: 'WEBHOOK', path: event, body, problems, status: 0 });
    const delivery: FakeWebhookDelivery = { event, deliveryId: randomUUID(), body, status: 0 };
    webhooks.push(delivery);
    const raw = JSON.stringify(body);
    webhookQueue = webhookQueue.then(async () => {
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'GitHub-Hookshot/fake',
            'x-github-event': event,
            'x-github-delivery': delivery.deliveryId,
            'x-github-hook-id': '1',
            'x-hub-signature-256': `sha256=${createHmac('sha256', target.secret).update(raw).digest('hex')}`,
          },
          body: raw,
        });
        await response.arrayBuffer();
        delivery.status = response.status;
      } catch {
        // Like GitHub: a receiver that does not answer just gets no delivery (status stays 0).
      }
    });
  }

  const routes: Record<string, Handler> = {
    'get /repos/{owner}/{repo}': (_match, state) => ({ status: 200, body: repositoryObject(state) }),

    'post /repos/{owner}/{repo}/deployments': (match, state, call, caller) => {
      const body = (call.body ?? {}) as Record<string, unknown>;
      const ref = String(body.ref);
      const sha = resolveRef(state, ref);
      if (!sha) return errorBody(422, `No ref found for: ${ref}`, match.documentationUrl);
      const outcome = deploymentOutcomes.shift();
      if (outcome?.kind === 'conflict') {
        return errorBody(409, outcome.message ?? `Conflict merging ${state.defaultBranch} into ${ref}.`, match.documentationUrl);
      }
      if (outcome?.kind === 'auto-merge') {
        return { status: 202, body: { message: outcome.message ?? `Auto-merged ${state.defaultBranch} into ${ref} on deployment.` } };
      }
      const id = nextDeploymentId++;
      const environment = typeof body.environment === 'string' ? body.environment : 'production';
      let payload: Record<string, unknown> | string = {};
      if (typeof body.payload === 'object' && body.payload !== null) payload = body.payload as Record<string, unknown>;
      else if (typeof body.payload === 'string' && body.payload !== '') {
        try {
          const parsed: unknown = JSON.parse(body.payload);
          payload = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : body.payload;
        } catch {
          payload = body.payload;
        }
      }
      const now = timestamp();
      const url = `${repoApiUrl(state)}/deployments/${id}`;
      const deployment: Deployment = {
        url,
        id,
        node_id: nodeId('Deployment', id),
        sha,
        ref,
        task: typeof body.task === 'string' ? body.task : 'deploy',
        payload,
        original_environment: environment,
        environment,
        description: typeof body.description === 'string' ? body.description : body.description === null ? null : '',
        creator: caller,
        created_at: now,
        updated_at: now,
        statuses_url: `${url}/statuses`,
        repository_url: repoApiUrl(state),
        transient_environment: body.transient_environment === true,
        production_environment: typeof body.production_environment === 'boolean' ? body.production_environment : environment === 'production',
        performed_via_github_app: null,
      };
      state.deployments.push(deployment);
      sendWebhook('deployment', state, caller, { deployment: structuredClone(deployment), workflow: null, workflow_run: null });
      return { status: 201, body: deployment, headers: { location: url } };
    },

    'get /repos/{owner}/{repo}/deployments': (_match, state, call) => {
      const { sha, ref, task, environment } = call.query;
      const matching = state.deployments
        .filter(
          (d) =>
            (sha === undefined || sha === 'none' || d.sha === sha) &&
            (ref === undefined || ref === 'none' || d.ref === ref) &&
            (task === undefined || task === 'none' || d.task === task) &&
            (environment === undefined || environment === 'none' || d.environment === environment),
        )
        .reverse();
      return listPage(matching, call);
    },

    'get /repos/{owner}/{repo}/deployments/{deployment_id}': (match, state) => {
      const deployment = findDeployment(state, match.params.deployment_id);
      return deployment ? { status: 200, body: deployment } : errorBody(404, 'Not Found', match.documentationUrl);
    },

    'post /repos/{owner}/{repo}/deployments/{deployment_id}/statuses': (match, state, call, caller) => {
      const deployment = findDeployment(state, match.params.deployment_id);
      if (!deployment) return errorBody(404, 'Not Found', match.documentationUrl);
      const body = (call.body ?? {}) as Record<string, unknown>;
      const str = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : undefined);
      const newState = body.state as DeploymentState;
      const logUrl = str('log_url') ?? str('target_url') ?? '';
      const environment = str('environment') ?? latestStatus(state, deployment.id)?.environment ?? deployment.environment;
      const status = addStatus(state, deployment, {
        state: newState,
        description: str('description') ?? '',
        environment,
        log_url: logUrl,
        environment_url: str('environment_url') ?? '',
      }, caller);
      // auto_inactive (default true): earlier successful deployments to the same environment that
      // are neither transient nor production get an `inactive` status.
      if (newState === 'success' && body.auto_inactive !== false) {
        for (const other of state.deployments) {
          if (other.id >= deployment.id || other.environment !== environment) continue;
          if (other.transient_environment || other.production_environment) continue;
          if (latestStatus(state, other.id)?.state !== 'success') continue;
          addStatus(state, other, { state: 'inactive', description: '', environment, log_url: '', environment_url: '' }, caller);
        }
      }
      return { status: 201, body: status, headers: { location: status.url } };
    },

    'get /repos/{owner}/{repo}/deployments/{deployment_id}/statuses': (match, state, call) => {
      const deployment = findDeployment(state, match.params.deployment_id);
      if (!deployment) return errorBody(404, 'Not Found', match.documentationUrl);
      return listPage([...(state.statuses.get(deployment.id) ?? [])].reverse(), call);
    },
  };

  /** POST /app/installations/{id}/access_tokens, authenticated by the App's JWT. */
  function mintInstallationToken(installationId: number, jwt: string): Reply {
    const app = options.app;
    const docs = 'https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app';
    if (!app) return errorBody(404, 'Not Found', docs);
    const [header, payload, signature] = jwt.split('.');
    if (!header || !payload || !signature) return errorBody(401, 'A JSON web token could not be decoded', docs);
    const decoded = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      if (decoded(header).alg !== 'RS256') return errorBody(401, "'alg' must be RS256", docs);
      claims = decoded(payload);
    } catch {
      return errorBody(401, 'A JSON web token could not be decoded', docs);
    }
    const verified = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), app.publicKey, Buffer.from(signature, 'base64url'));
    if (!verified) return errorBody(401, 'A JSON web token could not be decoded', docs);
    const now = Math.floor(Date.now() / 1000);
    if (String(claims.iss) !== String(app.id)) return errorBody(401, "'Issuer' claim ('iss') must be an Integer", docs);
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.exp <= now || claims.exp - claims.iat > 600 || claims.iat > now + 60) {
      return errorBody(401, "'Expiration time' claim ('exp') is too far in the future", docs);
    }
    if (installationId !== app.installationId) return errorBody(404, 'Not Found', docs);
    const minted = `ghs_${randomUUID().replace(/-/g, '')}`;
    installationTokens.push(minted);
    const expires = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { status: 201, body: { token: minted, expires_at: expires, permissions: { deployments: 'write', metadata: 'read' }, repository_selection: 'all' } };
  }

  /** Limits GitHub documents (and enforces) beyond what the JSON schema says. */
  function documentedLimits(match: MatchedOperation, body: unknown): string[] {
    if (match.operationId === 'repos/create-deployment-status' && typeof body === 'object' && body !== null) {
      const description = (body as Record<string, unknown>).description;
      if (typeof description === 'string' && [...description].length > 140) {
        return [`body.description is too long (maximum is 140 characters, got ${[...description].length})`];
      }
    }
    return [];
  }

  function respond(call: FakeGitHubCall, rawBody: string): Reply {
    const violation = (status: number, problems: string[], reply: Reply): Reply => {
      schemaViolations.push({ method: call.method, path: call.path, body: call.body, problems, status });
      return reply;
    };

    if (!call.headers['user-agent']) {
      const message =
        'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).';
      return violation(403, ['missing User-Agent header'], { status: 403, body: message, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }

    const authorization = call.headers.authorization;
    if (!authorization) return errorBody(401, 'Requires authentication');
    const credentials = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization);
    const accessTokens = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(call.path);
    if (accessTokens && call.method === 'POST') return mintInstallationToken(Number(accessTokens[1]), credentials?.[1] ?? '');
    const given = credentials?.[1] ?? '';
    const caller = given === token || installationTokens.includes(given) ? user : otherUsers.get(given);
    if (!caller) return errorBody(401, 'Bad credentials');

    if (rawBody.trim() !== '' && typeof call.body === 'string') {
      return violation(400, ['request body is not valid JSON'], errorBody(400, 'Problems parsing JSON'));
    }

    const match = findOperation(call.method, call.path);
    if (!match) {
      return violation(404, validateRequest(call.method, call.path, call.body), errorBody(404, 'Not Found'));
    }
    const problems = validateRequest(call.method, call.path, call.body);
    if (problems.length > 0) {
      return violation(422, problems, errorBody(422, 'Invalid request.', match.documentationUrl, { errors: problems }));
    }
    const limits = documentedLimits(match, call.body);
    if (limits.length > 0) {
      const errors = limits.map((message) => ({ resource: 'DeploymentStatus', code: 'custom', field: 'description', message: message.replace(/^body\./, '') }));
      return violation(422, limits, errorBody(422, 'Validation Failed', match.documentationUrl, { errors }));
    }

    const fault = faults.find((f) => matchesMethod(f.method, call.method) && testPattern(f.pathPattern, call.path));
    if (fault) {
      fault.remaining--;
      if (fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1);
      return {
        status: fault.status,
        body: fault.body ?? { message: STATUS_CODES[fault.status] ?? 'Error', documentation_url: GENERIC_DOCS, status: String(fault.status) },
        headers: fault.headers ?? {},
      };
    }

    const handler = routes[`${match.method} ${match.template}`];
    if (!handler) {
      return errorBody(501, `fake GitHub does not implement ${match.operationId} (${match.method.toUpperCase()} ${match.template})`, match.documentationUrl);
    }
    const owner = match.params.owner;
    const repo = match.params.repo;
    const state = owner !== undefined && repo !== undefined ? findRepo(owner, repo) : undefined;
    if (!state) return errorBody(404, 'Not Found', match.documentationUrl);
    return handler(match, state, call, caller);
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { call, rawBody } = await readIncoming(req, baseUrl);

    const reply = respond(call, rawBody);
    call.status = reply.status;
    const hold = holds.find((h) => matchesMethod(h.method, call.method) && testPattern(h.pathPattern, call.path));
    if (hold) {
      holds.splice(holds.indexOf(hold), 1);
      hold.arrived(call);
      await hold.released;
    }
    if (reply.status === 0) {
      res.destroy();
      log.record(call);
      return;
    }
    rateRemaining = Math.max(rateRemaining - 1, 0);
    const isText = typeof reply.body === 'string';
    const payload = reply.body === undefined ? '' : isText ? (reply.body as string) : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23),
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(rateRemaining),
      'x-ratelimit-used': String(5000 - rateRemaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      ...reply.headers,
    });
    res.end(payload);
    log.record(call);
  }

  const server = createServer((req, res) => {
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ message: `fake GitHub crashed: ${message}` }));
    });
  });

  baseUrl = await listenLocal(server);
  Object.assign(user, makeUser(user.login, user.id, user.type));

  return {
    url: baseUrl,
    token,
    calls,
    installationTokens,
    schemaViolations,
    callsTo: log.callsTo,
    waitForCall: log.waitForCall,
    addRepo,
    setRef,
    addCommit,
    nextDeploymentConflict: (message) => void deploymentOutcomes.push({ kind: 'conflict', ...(message !== undefined ? { message } : {}) }),
    nextDeploymentAutoMerge: (message) => void deploymentOutcomes.push({ kind: 'auto-merge', ...(message !== undefined ? { message } : {}) }),
    failNext(method, pathPattern, status, times = 1, faultOptions = {}) {
      faults.push({ method, pathPattern, status, remaining: times, ...faultOptions });
    },
    addUser(userToken, login, type = 'User') {
      otherUsers.set(userToken, makeUser(login, nextUserId++, type));
    },
    sendWebhooks(target) {
      webhookTarget = target;
    },
    webhooks,
    webhooksSent: async () => {
      // Deliveries queued while waiting are waited for too.
      let seen: Promise<void> | undefined;
      while (seen !== webhookQueue) {
        seen = webhookQueue;
        await seen;
      }
    },
    holdNext(method, pathPattern) {
      let arrived!: (call: FakeGitHubCall) => void;
      let release!: () => void;
      const arrival = new Promise<FakeGitHubCall>((resolve) => (arrived = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      const hold: Hold = { method, pathPattern, arrived, released, release };
      holds.push(hold);
      allHolds.push(hold);
      return { arrived: arrival, release };
    },
    deployments: (owner, repo) => [...(findRepo(owner, repo)?.deployments ?? [])],
    statuses: (owner, repo, deploymentId) => [...(findRepo(owner, repo)?.statuses.get(deploymentId) ?? [])],
    async close() {
      for (const hold of allHolds) hold.release();
      log.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
