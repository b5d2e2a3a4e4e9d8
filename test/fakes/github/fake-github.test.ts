import { createHmac } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Octokit } from '@octokit/rest';
import { startFakeGitHub, type FakeGitHub } from './fake-github.js';
import { findOperation, loadOpenApi, openApiResponse, toJsonSchema, validateAgainstSchema, validateRequest, validateWebhook, type OpenApiStats } from './openapi-validator.js';

const SHA_MAIN = 'a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d';
const SHA_TOPIC = '1111111111111111111111111111111111111111';
const silentLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface HttpErrorLike {
  name: string;
  status: number;
  message: string;
  response?: { status: number; data: unknown; headers: Record<string, string> };
}

/** The rejection of `promise`, typed as Octokit's RequestError. */
async function rejectionOf(promise: Promise<unknown>): Promise<HttpErrorLike> {
  try {
    await promise;
  } catch (error) {
    return error as HttpErrorLike;
  }
  throw new Error('expected the request to fail');
}

function octokitFor(fake: FakeGitHub, auth = fake.token): Octokit {
  // @octokit/rest 22 has no retry plugin, so there is nothing to turn off: failures surface at once.
  return new Octokit({ auth, baseUrl: fake.url, log: silentLog });
}

/** The fake's answer must match the description's schema for that response. */
function expectResponseShape(method: string, path: string, status: number, data: unknown): void {
  const schema = openApiResponse(method, path, status)?.schema;
  expect(schema).toBeDefined();
  expect(validateAgainstSchema(schema, data, 'response')).toEqual([]);
}

let stats: OpenApiStats;

beforeAll(() => {
  const started = performance.now();
  stats = loadOpenApi();
  const again = performance.now();
  loadOpenApi();
  if (process.env.FAKE_GITHUB_TIMINGS) {
    console.log(`OpenAPI description: ${JSON.stringify(stats)}; second call ${(performance.now() - again).toFixed(2)} ms; first ${(again - started).toFixed(0)} ms`);
  }
});

describe('openapi-validator', () => {
  it('loads the description once', () => {
    // Every operation of the extracted routes (see openapi/extract.mjs), GitHub's own.
    expect(stats.operations).toBeGreaterThanOrEqual(20);
    expect(stats.version).not.toBe('unknown');
    expect(loadOpenApi()).toBe(stats);
  });

  it('routes concrete paths to templates, literal segments first, multi-segment parameters included', () => {
    expect(findOperation('POST', '/repos/acme/api/deployments')).toMatchObject({
      template: '/repos/{owner}/{repo}/deployments',
      operationId: 'repos/create-deployment',
      params: { owner: 'acme', repo: 'api' },
      documentationUrl: 'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
    });
    expect(findOperation('post', '/repos/acme/api/deployments/42/statuses?x=1')).toMatchObject({
      template: '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
      params: { owner: 'acme', repo: 'api', deployment_id: '42' },
    });
    expect(findOperation('GET', '/repos/acme/api/pulls/comments')?.template).toBe('/repos/{owner}/{repo}/pulls/comments');
    expect(findOperation('GET', '/repos/acme/api/pulls/7')?.template).toBe('/repos/{owner}/{repo}/pulls/{pull_number}');
    expect(findOperation('GET', '/repos/acme/api/branches/feature/login%2Fform')).toMatchObject({
      template: '/repos/{owner}/{repo}/branches/{branch}',
      params: { branch: 'feature/login/form' },
    });
    expect(findOperation('GET', '/repos/acme/api/branches/release/v2/protection')?.params.branch).toBe('release/v2');
    expect(findOperation('GET', '/repos/acme/api/deployments/')).toBeUndefined();
    expect(findOperation('GET', '/repos/acme/api/compare/main...feature')).toMatchObject({
      template: '/repos/{owner}/{repo}/compare/{base}...{head}',
      params: { base: 'main', head: 'feature' },
    });
  });

  it('accepts bodies the API accepts', () => {
    expect(validateRequest('POST', '/repos/acme/api/deployments', { ref: 'main' })).toEqual([]);
    expect(
      validateRequest('POST', '/repos/acme/api/deployments', {
        ref: 'topic-branch',
        task: 'deploy:migrations',
        auto_merge: false,
        required_contexts: [],
        payload: { app: 'api', nested: { n: 1 } },
        environment: 'staging',
        description: null,
        transient_environment: false,
        production_environment: false,
        some_future_field: 'GitHub ignores unknown fields',
      }),
    ).toEqual([]);
    expect(validateRequest('POST', '/repos/acme/api/deployments', { ref: 'main', payload: '{"deploy":"migrate"}' })).toEqual([]);
    expect(validateRequest('POST', '/repos/acme/api/deployments/1/statuses', { state: 'in_progress', log_url: 'https://ci/1', environment_url: '' })).toEqual([]);
    expect(validateRequest('GET', '/repos/acme/api/deployments', undefined)).toEqual([]);
  });

  it('names every problem in bodies the API rejects', () => {
    expect(validateRequest('POST', '/repos/acme/api/deployments/1/statuses', { state: 'done' })).toEqual([
      'body.state must be one of "error", "failure", "inactive", "in_progress", "queued", "pending", "success" (got "done")',
    ]);
    expect(validateRequest('POST', '/repos/acme/api/deployments', { ref: 'main', required_contexts: 'ci', auto_merge: 'yes' })).toEqual([
      'body.auto_merge must be boolean (got string "yes")',
      'body.required_contexts must be array (got string "ci")',
    ]);
    expect(validateRequest('POST', '/repos/acme/api/deployments', { required_contexts: [1] })).toEqual([
      "body is missing required property 'ref'",
      'body.required_contexts[0] must be string (got integer 1)',
    ]);
    expect(validateRequest('POST', '/repos/acme/api/deployments', undefined)).toEqual(["body is missing required property 'ref'"]);
    expect(validateRequest('POST', '/repos/acme/api/deployments', { ref: 'main', payload: 5 })).toEqual([
      'body.payload matches none of the allowed shapes: must be object (got integer 5); must be string (got integer 5)',
    ]);
    expect(validateRequest('POST', '/repos/acme/api/deployments', ['main'])).toEqual(['body must be object (got array)']);
  });

  it('says when there is no such operation', () => {
    expect(validateRequest('PUT', '/repos/acme/api/deployments', {})).toEqual([
      "PUT /repos/acme/api/deployments is not an operation of GitHub's REST API (that path takes GET, POST)",
    ]);
    expect(validateRequest('GET', '/repos/acme/api/deploymints', undefined)).toEqual(["no operation of GitHub's REST API matches GET /repos/acme/api/deploymints"]);
  });

  it('turns OpenAPI 3.0 nullable into JSON Schema', () => {
    expect(toJsonSchema({ type: 'string', nullable: true, example: 'x' })).toEqual({ type: ['string', 'null'] });
    expect(toJsonSchema({ type: 'string', enum: ['a'], nullable: true })).toEqual({ type: ['string', 'null'], enum: ['a', null] });
    expect(toJsonSchema({ nullable: true, oneOf: [{ type: 'string' }, { type: 'integer' }] })).toEqual({
      anyOf: [{ anyOf: [{ type: 'string' }, { type: 'integer' }] }, { type: 'null' }],
    });
    const schema = { type: 'object', properties: { a: { type: 'integer', nullable: true } }, required: ['a'] };
    expect(validateAgainstSchema(schema, { a: null })).toEqual([]);
    expect(validateAgainstSchema(schema, { a: 'x' })).toEqual(['value.a must be integer or null (got string "x")']);
    expect(schema.properties.a).toEqual({ type: 'integer', nullable: true });
  });
});

describe('webhook schemas', () => {
  it('checks webhook bodies against the description\'s x-webhooks', () => {
    expect(validateWebhook('deployment-created', { action: 'created' })).toEqual(
      expect.arrayContaining(["deployment-created is missing required property 'deployment'", "deployment-created is missing required property 'repository'"]),
    );
    expect(validateWebhook('deployment-created', { action: 'deleted' }).join('\n')).toMatch(/action must be one of "created"/);
    expect(validateWebhook('deployment-made', {})).toEqual(['GitHub\'s description has no webhook "deployment-made"']);
  });
});

describe('fake GitHub driven by the real Octokit', () => {
  let fake: FakeGitHub;
  let octokit: Octokit;
  const repo = { owner: 'acme', repo: 'api' };

  beforeEach(async () => {
    fake = await startFakeGitHub({ repos: ['acme/api'] });
    fake.setRef('acme', 'api', 'main', SHA_MAIN);
    fake.setRef('acme', 'api', 'topic-branch', SHA_TOPIC);
    octokit = octokitFor(fake);
  });

  afterEach(async () => {
    await fake.close();
  });

  it('creates a deployment, reports its progress and lists both', async () => {
    const created = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: 'topic-branch',
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
      payload: { deckhand: { app: 'api', pull_request: 12 } },
      description: '#12 Add login',
    });
    expect(created.status).toBe(201);
    expectResponseShape('POST', '/repos/acme/api/deployments', 201, created.data);
    if (!('id' in created.data)) throw new Error('expected a deployment');
    expect(created.data).toMatchObject({
      id: 1,
      sha: SHA_TOPIC,
      ref: 'topic-branch',
      task: 'deploy',
      environment: 'staging',
      original_environment: 'staging',
      production_environment: false,
      transient_environment: false,
      payload: { deckhand: { app: 'api', pull_request: 12 } },
      description: '#12 Add login',
      creator: { login: 'octocat' },
      url: `${fake.url}/repos/acme/api/deployments/1`,
      statuses_url: `${fake.url}/repos/acme/api/deployments/1/statuses`,
    });
    const deploymentId = created.data.id as number;

    await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: deploymentId, state: 'queued' });
    await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: deploymentId, state: 'in_progress', log_url: 'https://ci.example/runs/7' });
    const success = await octokit.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: deploymentId,
      state: 'success',
      log_url: 'https://ci.example/runs/7',
      environment_url: 'https://staging.example.com',
      description: 'Deployed in 42s',
    });
    expect(success.status).toBe(201);
    expectResponseShape('POST', '/repos/acme/api/deployments/1/statuses', 201, success.data);
    expect(success.data).toMatchObject({
      state: 'success',
      environment: 'staging',
      log_url: 'https://ci.example/runs/7',
      target_url: 'https://ci.example/runs/7',
      environment_url: 'https://staging.example.com',
      description: 'Deployed in 42s',
      deployment_url: `${fake.url}/repos/acme/api/deployments/1`,
    });

    const statuses = await octokit.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: deploymentId });
    expect(statuses.data.map((s) => s.state)).toEqual(['success', 'in_progress', 'queued']);
    expectResponseShape('GET', '/repos/acme/api/deployments/1/statuses', 200, statuses.data);
    expect(fake.statuses('acme', 'api', deploymentId).map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);

    const one = await octokit.rest.repos.getDeployment({ ...repo, deployment_id: deploymentId });
    expect(one.data.id).toBe(deploymentId);
    expectResponseShape('GET', '/repos/acme/api/deployments/1', 200, one.data);

    expect(fake.schemaViolations).toEqual([]);
    expect(fake.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      'POST /repos/acme/api/deployments 201',
      'POST /repos/acme/api/deployments/1/statuses 201',
      'POST /repos/acme/api/deployments/1/statuses 201',
      'POST /repos/acme/api/deployments/1/statuses 201',
      'GET /repos/acme/api/deployments/1/statuses 200',
      'GET /repos/acme/api/deployments/1 200',
    ]);
    expect(fake.calls[0]?.headers.authorization).toBe('token ghp_fake_token');
    expect(fake.calls[0]?.body).toMatchObject({ ref: 'topic-branch', auto_merge: false, required_contexts: [] });
  });

  it('lists deployments newest first, filtered by sha, ref and environment, paginated with Link headers', async () => {
    for (const [ref, environment] of [
      ['main', 'production'],
      ['topic-branch', 'staging'],
      ['main', 'staging'],
      [SHA_TOPIC, 'production'],
    ] as const) {
      await octokit.rest.repos.createDeployment({ ...repo, ref, environment, required_contexts: [] });
    }
    const all = await octokit.rest.repos.listDeployments({ ...repo });
    expect(all.data.map((d) => d.id)).toEqual([4, 3, 2, 1]);
    expectResponseShape('GET', '/repos/acme/api/deployments', 200, all.data);
    expect((await octokit.rest.repos.listDeployments({ ...repo, environment: 'staging' })).data.map((d) => d.id)).toEqual([3, 2]);
    expect((await octokit.rest.repos.listDeployments({ ...repo, sha: SHA_TOPIC })).data.map((d) => d.id)).toEqual([4, 2]);
    expect((await octokit.rest.repos.listDeployments({ ...repo, ref: 'main' })).data.map((d) => d.id)).toEqual([3, 1]);

    const firstPage = await octokit.rest.repos.listDeployments({ ...repo, per_page: 3 });
    expect(firstPage.data.map((d) => d.id)).toEqual([4, 3, 2]);
    expect(firstPage.headers.link).toContain('rel="next"');
    const everything = await octokit.paginate(octokit.rest.repos.listDeployments, { ...repo, per_page: 3 });
    expect(everything.map((d) => d.id)).toEqual([4, 3, 2, 1]);
    expect(fake.deployments('acme', 'api').map((d) => d.id)).toEqual([1, 2, 3, 4]);
    expect(fake.schemaViolations).toEqual([]);
  });

  it('keeps the status environment, and marks earlier successful non-production deployments inactive', async () => {
    const first = await octokit.rest.repos.createDeployment({ ...repo, ref: 'main', environment: 'staging', required_contexts: [] });
    const second = await octokit.rest.repos.createDeployment({ ...repo, ref: 'topic-branch', environment: 'staging', required_contexts: [] });
    if (!('id' in first.data) || !('id' in second.data)) throw new Error('expected deployments');
    const [id1, id2] = [first.data.id as number, second.data.id as number];
    await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: id1, state: 'success' });
    const status = await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: id2, state: 'in_progress' });
    expect(status.data.environment).toBe('staging');
    await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: id2, state: 'success' });
    expect(fake.statuses('acme', 'api', id1).map((s) => s.state)).toEqual(['success', 'inactive']);

    // auto_inactive: false leaves them alone.
    const third = await octokit.rest.repos.createDeployment({ ...repo, ref: 'main', environment: 'staging', required_contexts: [] });
    if (!('id' in third.data)) throw new Error('expected a deployment');
    await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: third.data.id as number, state: 'success', auto_inactive: false });
    expect(fake.statuses('acme', 'api', id2).map((s) => s.state)).toEqual(['in_progress', 'success']);
  });

  it('gets the repository (default branch main) in the shape of the description', async () => {
    const { data } = await octokit.rest.repos.get({ ...repo });
    expect(data).toMatchObject({ name: 'api', full_name: 'acme/api', default_branch: 'main', private: false, owner: { login: 'acme' } });
    expect(data.deployments_url).toBe(`${fake.url}/repos/acme/api/deployments`);
    expectResponseShape('GET', '/repos/acme/api', 200, data);
  });

  it.each([
    ['a status state GitHub does not know', 'statuses', { state: 'done' }, /body\.state must be one of/],
    ['required_contexts as a string', 'deployments', { ref: 'main', required_contexts: 'ci/build' }, /body\.required_contexts must be array/],
    ['auto_merge as a string', 'deployments', { ref: 'main', auto_merge: 'yes' }, /body\.auto_merge must be boolean/],
    ['a deployment without a ref', 'deployments', { environment: 'staging' }, /missing required property 'ref'/],
  ])('rejects %s with 422 and records the violation', async (_name, target, body, problem) => {
    await octokit.rest.repos.createDeployment({ ...repo, ref: 'main', required_contexts: [] });
    // A plain-string route makes octokit.request untyped, so the bad body compiles and is sent as is.
    const route: string = target === 'statuses' ? 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses' : 'POST /repos/{owner}/{repo}/deployments';
    const error = await rejectionOf(octokit.request(route, { ...repo, deployment_id: 1, ...body }));
    expect(error.name).toBe('HttpError');
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/^Invalid request\.: "body/);
    expect(error.message).toMatch(problem);
    expect(error.response?.data).toMatchObject({ message: 'Invalid request.', errors: [expect.stringMatching(problem)], documentation_url: expect.stringMatching(/^https:\/\/docs\.github\.com\/rest\/deployments\//) });
    expect(fake.schemaViolations).toEqual([{ method: 'POST', path: expect.stringMatching(/^\/repos\/acme\/api\/deployments/), body: expect.anything(), problems: [expect.stringMatching(problem)], status: 422 }]);
    expect(fake.deployments('acme', 'api')).toHaveLength(1);
    expect(fake.statuses('acme', 'api', 1)).toEqual([]);
  });

  it('rejects a status description over the documented 140 characters', async () => {
    await octokit.rest.repos.createDeployment({ ...repo, ref: 'main', required_contexts: [] });
    const error = await rejectionOf(octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: 1, state: 'failure', description: 'x'.repeat(141) }));
    expect(error.status).toBe(422);
    expect(error.message).toContain('description is too long (maximum is 140 characters');
    expect(fake.schemaViolations).toHaveLength(1);
    await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: 1, state: 'failure', description: 'x'.repeat(140) });
    expect(fake.schemaViolations).toHaveLength(1);
  });

  it('answers 401 Bad credentials for a wrong token, and Bearer works like token', async () => {
    const error = await rejectionOf(octokitFor(fake, 'ghp_wrong').rest.repos.get({ ...repo }));
    expect(error.status).toBe(401);
    expect(error.response?.data).toMatchObject({ message: 'Bad credentials' });
    expect(error.message).toBe('Bad credentials - https://docs.github.com/rest');
    // The Octokit constructor takes no default headers; a per-request header does it.
    const anonymous = new Octokit({ baseUrl: fake.url, log: silentLog });
    expect((await anonymous.rest.repos.get({ ...repo, headers: { authorization: `Bearer ${fake.token}` } })).status).toBe(200);
    const missing = await rejectionOf(anonymous.rest.repos.get({ ...repo }));
    expect(missing.status).toBe(401);
    expect(missing.response?.data).toMatchObject({ message: 'Requires authentication' });
    expect(fake.schemaViolations).toEqual([]);
  });

  it('answers 404 Not Found for an unknown repository or deployment', async () => {
    const error = await rejectionOf(octokit.rest.repos.createDeployment({ owner: 'acme', repo: 'nope', ref: 'main', required_contexts: [] }));
    expect(error.status).toBe(404);
    expect(error.response?.data).toMatchObject({ message: 'Not Found' });
    expect((await rejectionOf(octokit.rest.repos.get({ owner: 'acme', repo: 'nope' }))).status).toBe(404);
    expect((await rejectionOf(octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: 99, state: 'queued' }))).status).toBe(404);
    expect((await octokit.rest.repos.get({ owner: 'ACME', repo: 'API' })).data.full_name).toBe('acme/api');
    expect(fake.schemaViolations).toEqual([]);
  });

  it('resolves refs like GitHub: branches, tags, full and short shas; anything else is 422 No ref found', async () => {
    fake.setRef('acme', 'api', 'v1.2.0', 'b'.repeat(40));
    fake.addCommit('acme', 'api', 'c'.repeat(40));
    const shaOf = async (ref: string) => {
      const { data } = await octokit.rest.repos.createDeployment({ ...repo, ref, required_contexts: [] });
      return 'sha' in data ? data.sha : undefined;
    };
    expect(await shaOf('v1.2.0')).toBe('b'.repeat(40));
    expect(await shaOf('refs/heads/main')).toBe(SHA_MAIN);
    expect(await shaOf('c'.repeat(40))).toBe('c'.repeat(40));
    expect(await shaOf('a84d88e')).toBe(SHA_MAIN);
    const error = await rejectionOf(octokit.rest.repos.createDeployment({ ...repo, ref: 'no-such-branch', required_contexts: [] }));
    expect(error.status).toBe(422);
    expect(error.response?.data).toMatchObject({ message: 'No ref found for: no-such-branch' });
    expect((await rejectionOf(octokit.rest.repos.createDeployment({ ...repo, ref: 'd'.repeat(40), required_contexts: [] }))).status).toBe(422);
    expect(fake.schemaViolations).toEqual([]);
  });

  it('answers 409 for an injected merge conflict and 202 for an injected auto-merge', async () => {
    fake.nextDeploymentConflict();
    const conflict = await rejectionOf(octokit.rest.repos.createDeployment({ ...repo, ref: 'topic-branch', required_contexts: [] }));
    expect(conflict.status).toBe(409);
    expect(conflict.response?.data).toMatchObject({ message: 'Conflict merging main into topic-branch.' });

    fake.nextDeploymentAutoMerge();
    const merged = await octokit.rest.repos.createDeployment({ ...repo, ref: 'topic-branch', required_contexts: [] });
    // 202 resolves like a success: tell it apart by status (or by the missing id).
    expect(merged.status).toBe(202);
    expect(merged.data).toEqual({ message: 'Auto-merged main into topic-branch on deployment.' });
    expectResponseShape('POST', '/repos/acme/api/deployments', 202, merged.data);

    const created = await octokit.rest.repos.createDeployment({ ...repo, ref: 'topic-branch', required_contexts: [] });
    expect(created.status).toBe(201);
    expect(fake.deployments('acme', 'api')).toHaveLength(1);
  });

  it('fails the next matching requests as told, without retries by Octokit', async () => {
    fake.failNext('POST', /\/deployments$/, 500, 2);
    const first = await rejectionOf(octokit.rest.repos.createDeployment({ ...repo, ref: 'main', required_contexts: [] }));
    expect(first.status).toBe(500);
    expect(first.message).toBe('Internal Server Error - https://docs.github.com/rest');
    expect(fake.calls).toHaveLength(1);
    expect((await rejectionOf(octokit.rest.repos.createDeployment({ ...repo, ref: 'main', required_contexts: [] }))).status).toBe(500);
    expect((await octokit.rest.repos.listDeployments({ ...repo })).status).toBe(200);
    const third = await octokit.rest.repos.createDeployment({ ...repo, ref: 'main', required_contexts: [] });
    expect(third.status).toBe(201);
    expect(fake.callsTo('POST', /\/deployments$/).map((c) => c.status)).toEqual([500, 500, 201]);

    fake.failNext('*', /./, 403, 1, { headers: { 'x-ratelimit-remaining': '0', 'retry-after': '60' }, body: { message: 'API rate limit exceeded' } });
    const limited = await rejectionOf(octokit.rest.repos.get({ ...repo }));
    expect(limited.status).toBe(403);
    expect(limited.response?.headers['retry-after']).toBe('60');
    expect(fake.schemaViolations).toEqual([]);
  });

  it('drops connections when told; Octokit reports network failures as status 500', async () => {
    fake.failNext('GET', /^\/repos\/acme\/api$/, 0);
    const dropped = await rejectionOf(octokit.rest.repos.get({ ...repo }));
    expect(dropped.name).toBe('HttpError');
    expect(dropped.status).toBe(500);
    expect(dropped.response).toBeUndefined();
    // Outside jest the message is the cause's ("other side closed", "connect ECONNREFUSED ...");
    // under jest's vm modules fetch's TypeError is from another realm, fails Octokit's
    // `instanceof Error`, and the message is "Unknown Error". `cause` is the fetch error either way.
    expect(dropped.message).toMatch(/^(other side closed|Unknown Error)$/);
    expect((dropped as { cause?: { name?: string } }).cause?.name).toBe('TypeError');
    expect(fake.calls.map((c) => c.status)).toEqual([0]);
    expect((await octokit.rest.repos.get({ ...repo })).status).toBe(200);

    const url = fake.url;
    await fake.close();
    const refused = await rejectionOf(new Octokit({ auth: 'x', baseUrl: url, log: silentLog }).rest.repos.get({ ...repo }));
    expect(refused).toMatchObject({ name: 'HttpError', status: 500, message: expect.stringMatching(/ECONNREFUSED|^Unknown Error$/) });
    expect(refused.response).toBeUndefined();
    fake = await startFakeGitHub();
  });

  it('waits for calls made before or after it is asked', async () => {
    await octokit.rest.repos.get({ ...repo });
    await expect(fake.waitForCall('GET', /^\/repos\/acme\/api$/)).resolves.toMatchObject({ status: 200 });
    const waiting = fake.waitForCall('POST', /\/statuses$/, (call) => (call.body as { state?: string }).state === 'success', 2000);
    await octokit.rest.repos.createDeployment({ ...repo, ref: 'main', required_contexts: [] });
    await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: 1, state: 'in_progress' });
    await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: 1, state: 'success' });
    await expect(waiting).resolves.toMatchObject({ status: 201, body: { state: 'success' } });
    await expect(fake.waitForCall('DELETE', /./, undefined, 50)).rejects.toThrow(/no DELETE \/\.\/ call within 50 ms; calls so far:\n {2}GET \/repos\/acme\/api → 200/);
  });

  it('refuses paths that are not in the API, and says which real operations it does not implement', async () => {
    const unknown = await rejectionOf(octokit.request('GET /repos/{owner}/{repo}/deploymints', { ...repo }));
    expect(unknown.status).toBe(404);
    expect(fake.schemaViolations).toEqual([
      { method: 'GET', path: '/repos/acme/api/deploymints', body: undefined, problems: ["no operation of GitHub's REST API matches GET /repos/acme/api/deploymints"], status: 404 },
    ]);
    const unimplemented = await rejectionOf(octokit.rest.issues.create({ ...repo, title: 'x' }));
    expect(unimplemented.status).toBe(501);
    expect(unimplemented.message).toContain('fake GitHub does not implement issues/create');
    expect(fake.schemaViolations).toHaveLength(1);
  });

  it('refuses malformed JSON and requests without a User-Agent, like GitHub', async () => {
    const send = (headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(`${fake.url}/repos/acme/api/deployments`, { method: 'POST', headers }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const auth = { authorization: `token ${fake.token}`, 'content-type': 'application/json' };
    expect(await send(auth, '{"ref":')).toMatchObject({ status: 403 });
    const broken = await send({ ...auth, 'user-agent': 'deckhand-test' }, '{"ref":');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.text)).toMatchObject({ message: 'Problems parsing JSON' });
    expect(fake.schemaViolations.map((v) => v.status)).toEqual([403, 400]);
  });

  it('sends signed, schema-valid deployment and deployment_status webhooks; other users create their own; a held answer comes after its webhook', async () => {
    type Received = { action: string; sender: { login: string }; deployment: unknown; deployment_status?: unknown };
    const received: Array<{ event: string; signatureOk: boolean; body: Received }> = [];
    const receiver = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        const expected = `sha256=${createHmac('sha256', 'hook-secret').update(raw).digest('hex')}`;
        received.push({ event: String(req.headers['x-github-event']), signatureOk: req.headers['x-hub-signature-256'] === expected, body: JSON.parse(raw) as Received });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      fake.sendWebhooks({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: 'hook-secret' });
      fake.addUser('ghp_other_tool', 'actions-bot', 'Bot');
      const other = octokitFor(fake, 'ghp_other_tool');

      const held = fake.holdNext('POST', /\/deployments$/);
      const creating = other.rest.repos.createDeployment({ ...repo, ref: 'main', environment: 'production', required_contexts: [], payload: { from: 'ci' } });
      await held.arrived;
      await fake.webhooksSent();
      // GitHub told the webhook before the API answered.
      expect(received.map((r) => r.event)).toEqual(['deployment']);
      held.release();
      const created = await creating;
      if (!('id' in created.data)) throw new Error('expected a deployment');
      await other.rest.repos.createDeploymentStatus({ ...repo, deployment_id: created.data.id, state: 'in_progress' });
      await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: created.data.id, state: 'failure', description: 'not by me' });
      await fake.webhooksSent();

      expect(received.map((r) => [r.event, r.body.action, r.body.sender.login, r.signatureOk])).toEqual([
        ['deployment', 'created', 'actions-bot', true],
        ['deployment_status', 'created', 'actions-bot', true],
        ['deployment_status', 'created', 'octocat', true],
      ]);
      expect(received[0]?.body.deployment).toMatchObject({ id: created.data.id, creator: { login: 'actions-bot', type: 'Bot' }, payload: { from: 'ci' }, environment: 'production' });
      expect(received[2]?.body).toMatchObject({ deployment_status: { state: 'failure', description: 'not by me', creator: { login: 'octocat' } }, deployment: { id: created.data.id } });
      expect(fake.webhooks.map((w) => w.status)).toEqual([202, 202, 202]);
      expect(fake.statuses('acme', 'api', created.data.id).map((st) => st.creator.login)).toEqual(['actions-bot', 'octocat']);
      expect(fake.schemaViolations).toEqual([]);
      // An unknown token is still refused.
      expect((await rejectionOf(octokitFor(fake, 'ghp_nobody').rest.repos.get(repo))).status).toBe(401);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
