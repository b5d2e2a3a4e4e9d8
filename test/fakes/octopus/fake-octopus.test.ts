import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compareVersions, startFakeOctopus, type Deployment, type FakeOctopus, type Release, type ServerTask, type TaskDetails } from './fake-octopus.js';

interface Answer<T = unknown> {
  status: number;
  body: T;
  text: string;
  contentType: string;
}

let octopus: FakeOctopus;

beforeEach(async () => {
  octopus = await startFakeOctopus();
});

afterEach(async () => {
  await octopus.close();
});

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, key: string | null = octopus.apiKey): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (key !== null) headers['X-Octopus-ApiKey'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${octopus.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  let parsed: unknown = text;
  if (contentType.startsWith('application/json') && text !== '') parsed = JSON.parse(text);
  return { status: response.status, body: parsed as T, text, contentType };
}

const get = <T = Record<string, unknown>>(path: string) => api<T>('GET', path);
const post = <T = Record<string, unknown>>(path: string, body: unknown) => api<T>('POST', path, body);

interface Collection<T> {
  ItemType: string;
  TotalResults: number;
  ItemsPerPage: number;
  NumberOfPages: number;
  LastPageNumber: number;
  Items: T[];
  Links: Record<string, string>;
}

interface ErrorBody {
  ErrorMessage: string;
  Errors: string[];
}

const webPackage = (version: string) => [{ ActionName: 'Deploy Core Web', PackageReferenceName: '', Version: version }];

async function createRelease(version = '1.4.0'): Promise<Release> {
  const answer = await post<Release>('/api/Spaces-1/releases', { ProjectId: 'Projects-1', Version: version, SelectedPackages: webPackage(version) });
  expect(answer.status).toBe(201);
  return answer.body;
}

async function deploy(releaseId: string, environmentId = 'Environments-1', extra: Record<string, unknown> = {}): Promise<Deployment> {
  const answer = await post<Deployment>('/api/Spaces-1/deployments', { ReleaseId: releaseId, EnvironmentId: environmentId, ...extra });
  expect(answer.status).toBe(201);
  return answer.body;
}

async function readTask(taskId: string, scoped = false): Promise<ServerTask> {
  const answer = await get<ServerTask>(scoped ? `/api/Spaces-1/tasks/${taskId}` : `/api/tasks/${taskId}`);
  expect(answer.status).toBe(200);
  return answer.body;
}

describe('fake Octopus', () => {
  it('answers 401 with the Octopus body without a key or with a wrong one, and records those calls', async () => {
    const expected = {
      ErrorMessage: 'You must be logged in to perform this action. Please provide a valid API key or log in again.',
      Errors: [],
    };
    const missing = await api('GET', '/api/Spaces-1/projects/all', undefined, null);
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual(expected);
    expect(missing.contentType).toMatch(/^application\/json/);
    const wrong = await api('GET', '/api', undefined, 'API-WRONG');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(expected);
    expect(octopus.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['GET', '/api/Spaces-1/projects/all', 401],
      ['GET', '/api', 401],
    ]);
    expect(octopus.calls[1]?.headers['x-octopus-apikey']).toBe('API-WRONG');
  });

  it('takes the API key from the options', async () => {
    const other = await startFakeOctopus({ apiKey: 'API-OTHER', version: '2023.4.1' });
    try {
      expect(other.apiKey).toBe('API-OTHER');
      const response = await fetch(`${other.url}/api`, { headers: { 'X-Octopus-ApiKey': 'API-OTHER' } });
      expect(await response.json()).toMatchObject({ Application: 'Octopus Deploy', Version: '2023.4.1' });
    } finally {
      await other.close();
    }
  });

  it('serves the root, spaces, projects, environments and channels', async () => {
    const root = await get('/api');
    expect(root.status).toBe(200);
    expect(root.body).toMatchObject({ Application: 'Octopus Deploy', Version: '2024.1.0', Links: {} });
    expect(typeof root.body.InstallationId).toBe('string');

    const spaces = await get<Collection<{ Id: string; Name: string; IsDefault: boolean }>>('/api/spaces?partialName=Def&skip=0&take=2147483647');
    expect(spaces.body).toMatchObject({ ItemType: 'Space', TotalResults: 1, NumberOfPages: 1, LastPageNumber: 0, Links: {} });
    expect(spaces.body.Items).toEqual([expect.objectContaining({ Id: 'Spaces-1', Name: 'Default', IsDefault: true })]);
    expect((await get<unknown[]>('/api/spaces/all')).body).toHaveLength(1);

    const byPartial = await get<Collection<{ Id: string; Name: string; Slug: string }>>('/api/Spaces-1/projects?partialName=core%20w');
    expect(byPartial.body.Items.map((p) => [p.Id, p.Name, p.Slug])).toEqual([['Projects-1', 'Core Web', 'core-web']]);
    expect((await get<Collection<unknown>>('/api/Spaces-1/projects?partialName=WEB')).body.TotalResults).toBe(1);
    expect((await get<Collection<unknown>>('/api/Spaces-1/projects?partialName=mobile')).body.Items).toEqual([]);
    expect((await get('/api/Spaces-1/projects/core-web')).body).toMatchObject({ Id: 'Projects-1', DeploymentProcessId: 'deploymentprocess-Projects-1', SpaceId: 'Spaces-1' });
    expect((await get('/api/Spaces-1/projects/Projects-1')).body.Name).toBe('Core Web');
    const unknown = await get<ErrorBody>('/api/Spaces-1/projects/Projects-99');
    expect(unknown.status).toBe(404);
    expect(unknown.body.ErrorMessage).toEqual(expect.any(String));
    expect(unknown.body.Errors).toEqual([]);
    expect((await get('/api/Spaces-9/projects/all')).status).toBe(404);

    const envs = await get<Array<{ Id: string; Name: string }>>('/api/Spaces-1/environments/all');
    expect(envs.body.map((e) => [e.Id, e.Name])).toEqual([
      ['Environments-1', 'Staging'],
      ['Environments-2', 'Production'],
    ]);
    expect((await get<Collection<{ Id: string }>>('/api/Spaces-1/environments?partialName=prod')).body.Items.map((e) => e.Id)).toEqual(['Environments-2']);
    expect((await get('/api/Spaces-1/environments/Environments-2')).body.Name).toBe('Production');

    const channels = await get<Collection<{ Id: string; Name: string; IsDefault: boolean }>>('/api/Spaces-1/projects/Projects-1/channels');
    expect(channels.body.Items).toEqual([expect.objectContaining({ Id: 'Channels-1', Name: 'Default', IsDefault: true, ProjectId: 'Projects-1' })]);

    // Paging.
    octopus.addEnvironment('Test');
    const page = await get<Collection<{ Name: string }>>('/api/Spaces-1/environments?skip=2&take=2');
    expect(page.body).toMatchObject({ TotalResults: 3, ItemsPerPage: 2, NumberOfPages: 2, LastPageNumber: 1 });
    expect(page.body.Items.map((e) => e.Name)).toEqual(['Test']);
  });

  it('serves tenants and machines added by helpers', async () => {
    const tenantId = octopus.addTenant('Acme Corp');
    expect(tenantId).toBe('Tenants-1');
    expect((await get<Array<{ Name: string }>>('/api/Spaces-1/tenants/all')).body.map((t) => t.Name)).toEqual(['Acme Corp']);
    expect((await get<Collection<{ Id: string }>>('/api/Spaces-1/tenants?partialName=acme')).body.Items.map((t) => t.Id)).toEqual(['Tenants-1']);
    expect((await get('/api/Spaces-1/tenants/Tenants-1')).body.Name).toBe('Acme Corp');
    expect((await get('/api/Spaces-1/tenants/Tenants-2')).status).toBe(404);

    const machineId = octopus.addMachine({ name: 'web-01', roles: ['web-server'], environmentIds: ['Environments-1'] });
    expect(machineId).toBe('Machines-1');
    expect((await get('/api/Spaces-1/machines/Machines-1')).body).toEqual(
      expect.objectContaining({ Id: 'Machines-1', Name: 'web-01', Roles: ['web-server'], EnvironmentIds: ['Environments-1'], TenantIds: [], Status: 'Online', SpaceId: 'Spaces-1' }),
    );
  });

  it('serves the deployment process, the release template and package versions', async () => {
    const process = await get<{ Id: string; Steps: Array<{ Actions: Array<{ Name: string; Packages: Array<{ Name: string; PackageId: string; FeedId: string }> }> }> }>(
      '/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-1',
    );
    expect(process.body.Id).toBe('deploymentprocess-Projects-1');
    expect(process.body.Steps[0]?.Actions[0]).toMatchObject({ Name: 'Deploy Core Web', Packages: [{ Name: '', PackageId: 'web', FeedId: 'feeds-builtin' }] });

    const template = await get('/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-1/template?channel=Channels-1');
    expect(template.status).toBe(200);
    expect(template.body).toMatchObject({
      DeploymentProcessId: 'deploymentprocess-Projects-1',
      LastReleaseVersion: null,
      NextVersionIncrement: '0.0.1',
      Packages: [
        {
          ActionName: 'Deploy Core Web',
          PackageReferenceName: '',
          PackageId: 'web',
          FeedId: 'feeds-builtin',
          FeedName: 'Octopus Server (built-in)',
          VersionSelectedLastRelease: null,
          IsResolvable: true,
        },
      ],
    });

    octopus.addRelease('Core Web', '1.3.0');
    const after = await get<{ NextVersionIncrement: string; LastReleaseVersion: string; Packages: Array<{ VersionSelectedLastRelease: string }> }>(
      '/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-1/template?channel=Channels-1',
    );
    expect(after.body.NextVersionIncrement).toBe('1.3.1');
    expect(after.body.LastReleaseVersion).toBe('1.3.0');
    expect(after.body.Packages[0]?.VersionSelectedLastRelease).toBe('1.3.0');

    const latest = await get<Collection<{ Id: string; PackageId: string; Version: string; Published: string }>>('/api/Spaces-1/feeds/feeds-builtin/packages/versions?packageId=web&take=1');
    expect(latest.body.TotalResults).toBe(2);
    expect(latest.body.Items).toEqual([expect.objectContaining({ PackageId: 'web', Version: '1.4.0', Published: expect.any(String), Id: expect.any(String) })]);

    octopus.addPackageVersion('web', '1.10.0');
    octopus.addPackageVersion('web', '1.10.0-beta.2');
    const all = await get<Collection<{ Version: string }>>('/api/Spaces-1/feeds/feeds-builtin/packages/versions?packageId=web');
    expect(all.body.Items.map((v) => v.Version)).toEqual(['1.10.0', '1.10.0-beta.2', '1.4.0', '1.3.0']);
    expect((await get<Collection<unknown>>('/api/Spaces-1/feeds/feeds-builtin/packages/versions?packageId=nope')).body.Items).toEqual([]);
    expect((await get('/api/Spaces-1/feeds/feeds-99/packages/versions?packageId=web')).status).toBe(404);
  });

  it('compares versions by numeric parts', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('1.4.0', '1.4.0')).toBe(0);
    expect(compareVersions('1.4.0-rc.1', '1.4.0')).toBe(-1);
    expect(compareVersions('2', '1.99.99')).toBe(1);
  });

  it('creates a release (201) and lists it newest first', async () => {
    const answer = await post<Release>('/api/Spaces-1/releases', {
      ProjectId: 'Projects-1',
      ChannelId: 'Channels-1',
      Version: '1.4.0',
      ReleaseNotes: 'from the test',
      SelectedPackages: webPackage('1.4.0'),
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual(
      expect.objectContaining({
        Id: 'Releases-1',
        Version: '1.4.0',
        ProjectId: 'Projects-1',
        ChannelId: 'Channels-1',
        ReleaseNotes: 'from the test',
        Assembled: expect.any(String),
        SelectedPackages: webPackage('1.4.0'),
        SpaceId: 'Spaces-1',
        Links: expect.objectContaining({ Web: '/app#/Spaces-1/releases/Releases-1' }),
      }),
    );
    expect(octopus.releases()).toEqual([answer.body]);
    expect((await get('/api/Spaces-1/releases/Releases-1')).body).toEqual(answer.body);

    // The legacy StepName, and the default channel when none is given.
    const older = await post<Release>('/api/Spaces-1/releases', { ProjectId: 'Projects-1', Version: '1.3.0', SelectedPackages: [{ StepName: 'Deploy Core Web', Version: '1.3.0' }] });
    expect(older.status).toBe(201);
    expect(older.body.ChannelId).toBe('Channels-1');
    expect(older.body.SelectedPackages).toEqual(webPackage('1.3.0'));

    const list = await get<Collection<Release>>('/api/Spaces-1/projects/Projects-1/releases?skip=0&take=30');
    expect(list.body.Items.map((r) => r.Version)).toEqual(['1.3.0', '1.4.0']);
    const search = await get<Collection<Release>>('/api/Spaces-1/projects/Projects-1/releases?searchByVersion=1.4.0');
    expect(search.body.Items.map((r) => r.Id)).toEqual(['Releases-1']);
  });

  it('refuses invalid releases with 400', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['unknown project', { ProjectId: 'Projects-42', Version: '1.4.0', SelectedPackages: webPackage('1.4.0') }, /Projects-42/],
      ['missing version', { ProjectId: 'Projects-1', SelectedPackages: webPackage('1.4.0') }, /Version is required/],
      ['missing package', { ProjectId: 'Projects-1', Version: '1.4.0', SelectedPackages: [] }, /package "web"/],
      ['unknown package version', { ProjectId: 'Projects-1', Version: '9.9.9', SelectedPackages: webPackage('9.9.9') }, /9\.9\.9 of package "web"/],
    ];
    for (const [, body, pattern] of cases) {
      const answer = await post<ErrorBody>('/api/Spaces-1/releases', body);
      expect(answer.status).toBe(400);
      expect(answer.body.ErrorMessage).toEqual(expect.any(String));
      expect(answer.body.Errors.join('\n')).toMatch(pattern);
    }
    await createRelease('1.4.0');
    const duplicate = await post<ErrorBody>('/api/Spaces-1/releases', { ProjectId: 'Projects-1', Version: '1.4.0', SelectedPackages: webPackage('1.4.0') });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.Errors).toEqual(['A release with the version 1.4.0 already exists for this project.']);
    expect(octopus.releases()).toHaveLength(1);
  });

  it('deploys a release; the task goes Queued → Executing → Success over three reads', async () => {
    const release = await createRelease();
    const deployment = await deploy(release.Id, 'Environments-1', { Comments: 'via test' });
    expect(deployment).toEqual(
      expect.objectContaining({
        Id: 'Deployments-1',
        Name: 'Deploy to Staging',
        ReleaseId: release.Id,
        EnvironmentId: 'Environments-1',
        TenantId: null,
        ProjectId: 'Projects-1',
        ChannelId: 'Channels-1',
        TaskId: 'ServerTasks-1',
        DeploymentProcessId: 'deploymentprocess-Projects-1',
        Comments: 'via test',
        Created: expect.any(String),
        SpaceId: 'Spaces-1',
        Links: expect.objectContaining({ Web: '/app#/Spaces-1/deployments/Deployments-1', Task: '/api/tasks/ServerTasks-1' }),
      }),
    );
    expect((await get('/api/Spaces-1/deployments/Deployments-1')).body).toEqual(deployment);
    expect(octopus.deployments()).toEqual([deployment]);

    const first = await readTask(deployment.TaskId, true);
    expect(first).toMatchObject({
      Id: 'ServerTasks-1',
      Name: 'Deploy',
      Description: 'Deploy Core Web release 1.4.0 to Staging',
      Arguments: { DeploymentId: 'Deployments-1' },
      State: 'Queued',
      IsCompleted: false,
      FinishedSuccessfully: false,
      StartTime: null,
      CompletedTime: null,
      ErrorMessage: '',
      HasPendingInterruptions: false,
      ProjectId: 'Projects-1',
      SpaceId: 'Spaces-1',
    });
    const second = await readTask(deployment.TaskId);
    expect(second).toMatchObject({ State: 'Executing', IsCompleted: false, StartTime: expect.any(String), CompletedTime: null });
    const third = await readTask(deployment.TaskId);
    expect(third).toMatchObject({ State: 'Success', IsCompleted: true, FinishedSuccessfully: true, CompletedTime: expect.any(String), Duration: expect.any(String), ErrorMessage: '' });
    expect(await readTask(deployment.TaskId)).toMatchObject({ State: 'Success' });
    expect(octopus.tasks()[0]?.State).toBe('Success');

    const list = await get<Collection<ServerTask>>(`/api/Spaces-1/deployments?projects=Projects-1&environments=Environments-1&taskState=Success`);
    expect(list.body.Items.map((d) => d.Id)).toEqual(['Deployments-1']);
  });

  it('refuses deployments of unknown releases, environments and tenants', async () => {
    const release = await createRelease();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ReleaseId: 'Releases-77', EnvironmentId: 'Environments-1' }, /Releases-77/],
      [{ ReleaseId: release.Id, EnvironmentId: 'Environments-77' }, /Environments-77/],
      [{ ReleaseId: release.Id, EnvironmentId: 'Environments-1', TenantId: 'Tenants-77' }, /Tenants-77/],
    ];
    for (const [body, pattern] of cases) {
      const answer = await post<ErrorBody>('/api/Spaces-1/deployments', body);
      expect(answer.status).toBe(400);
      expect(answer.body.Errors.join('\n')).toMatch(pattern);
    }
    expect(octopus.deployments()).toEqual([]);

    const tenantId = octopus.addTenant('Acme');
    const tenanted = await deploy(release.Id, 'Environments-2', { TenantId: tenantId });
    expect(tenanted.TenantId).toBe(tenantId);
  });

  it('fails a task as scripted, with its error message and log', async () => {
    const release = await createRelease();
    octopus.nextTaskScript(['Queued', 'Executing', 'Failed'], { errorMessage: 'Step "Deploy Core Web" failed: exit code 1', log: ['Pulling web 1.4.0', 'Running migrations', 'Migration 42 failed'] });
    const deployment = await deploy(release.Id);
    await readTask(deployment.TaskId);
    await readTask(deployment.TaskId);
    const failed = await readTask(deployment.TaskId);
    expect(failed).toMatchObject({
      State: 'Failed',
      IsCompleted: true,
      FinishedSuccessfully: false,
      HasWarningsOrErrors: true,
      ErrorMessage: 'Step "Deploy Core Web" failed: exit code 1',
      CompletedTime: expect.any(String),
    });

    const details = await get<TaskDetails>(`/api/tasks/${deployment.TaskId}/details?verbose=true&tail=20`);
    expect(details.status).toBe(200);
    expect(details.body.Task.State).toBe('Failed');
    expect(details.body.Progress.ProgressPercentage).toBe(100);
    expect(details.body.PhysicalLogSize).toBeGreaterThan(0);
    const root = details.body.ActivityLogs[0];
    expect(root?.Status).toBe('Failed');
    expect(root?.LogElements.map((e) => [e.Category, e.MessageText])).toEqual([
      ['Info', 'Pulling web 1.4.0'],
      ['Info', 'Running migrations'],
      ['Error', 'Migration 42 failed'],
    ]);
    const tail = await get<TaskDetails>(`/api/Spaces-1/tasks/${deployment.TaskId}/details?tail=1`);
    expect(tail.body.ActivityLogs[0]?.LogElements.map((e) => e.MessageText)).toEqual(['Migration 42 failed']);
    // Reading details does not move the task.
    expect(octopus.tasks()[0]?.State).toBe('Failed');

    const raw = await get(`/api/tasks/${deployment.TaskId}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.contentType).toMatch(/^text\/plain/);
    const lines = raw.text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d {3}Info {5}\| Pulling web 1\.4\.0$/);
    expect(lines[2]).toMatch(/^\d\d:\d\d:\d\d {3}Error {4}\| Migration 42 failed$/);
  });

  it('invents an error message for a failure without one', async () => {
    const release = await createRelease();
    octopus.nextTaskScript(['TimedOut']);
    const deployment = await deploy(release.Id);
    const task = await readTask(deployment.TaskId);
    expect(task.State).toBe('TimedOut');
    expect(task.IsCompleted).toBe(true);
    expect(task.ErrorMessage).not.toBe('');
  });

  it('keeps a hanging script in Executing, and cancels it', async () => {
    const release = await createRelease();
    octopus.nextTaskScript(['Queued', 'Executing']);
    const deployment = await deploy(release.Id);
    for (let i = 0; i < 5; i++) await readTask(deployment.TaskId);
    const hanging = await readTask(deployment.TaskId);
    expect(hanging).toMatchObject({ State: 'Executing', IsCompleted: false });
    const details = await get<TaskDetails>(`/api/tasks/${deployment.TaskId}/details`);
    expect(details.body.ActivityLogs[0]?.Status).toBe('Running');
    expect(details.body.ActivityLogs[0]?.LogElements.length).toBeGreaterThan(0);

    const cancel = await post<ServerTask>(`/api/tasks/${deployment.TaskId}/cancel`, {});
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ State: 'Cancelling', IsCompleted: false });
    expect(await readTask(deployment.TaskId)).toMatchObject({ State: 'Canceled', IsCompleted: true, FinishedSuccessfully: false, ErrorMessage: '', CompletedTime: expect.any(String) });
    expect(await readTask(deployment.TaskId)).toMatchObject({ State: 'Canceled' });
  });

  it('setTaskState ends a hanging task at once, with its error and log; the script is dropped', async () => {
    const release = await createRelease();
    octopus.nextTaskScript(['Queued', 'Executing']);
    const deployment = await deploy(release.Id);
    await readTask(deployment.TaskId);
    expect(await readTask(deployment.TaskId)).toMatchObject({ State: 'Executing', IsCompleted: false });
    octopus.setTaskState(deployment.TaskId, 'Failed', { errorMessage: 'disk full', log: ['Unpacking', 'No space left'] });
    expect(await readTask(deployment.TaskId)).toMatchObject({ State: 'Failed', IsCompleted: true, FinishedSuccessfully: false, ErrorMessage: 'disk full', CompletedTime: expect.any(String) });
    expect(await readTask(deployment.TaskId)).toMatchObject({ State: 'Failed' });
    expect((await get(`/api/tasks/${deployment.TaskId}/raw`)).text).toContain('No space left');
    expect(() => octopus.setTaskState('ServerTasks-999', 'Success')).toThrow('fake Octopus: setTaskState: no task "ServerTasks-999"');
  });

  it('uses scripts in order, one per deployment, then the default', async () => {
    const release = await createRelease();
    octopus.nextTaskScript(['Failed']);
    octopus.nextTaskScript(['Executing', 'Success']);
    const a = await deploy(release.Id);
    const b = await deploy(release.Id, 'Environments-2');
    const c = await deploy(release.Id);
    expect((await readTask(a.TaskId)).State).toBe('Failed');
    expect((await readTask(b.TaskId)).State).toBe('Executing');
    expect((await readTask(b.TaskId)).State).toBe('Success');
    expect((await readTask(c.TaskId)).State).toBe('Queued');
    // A list read naming a task moves it too.
    const listed = await get<Collection<ServerTask>>(`/api/Spaces-1/tasks?ids=${c.TaskId}&skip=0&take=300`);
    expect(listed.body.Items.map((t) => t.State)).toEqual(['Executing']);
  });

  it('emits a subscription webhook with the custom header and the related documents', async () => {
    const received: Array<{ method: string; headers: IncomingHttpHeaders; body: string }> = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(202, { 'content-type': 'text/plain' }).end('thanks');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/octopus/events`;
    try {
      const release = await createRelease();
      const deployment = await deploy(release.Id);
      const related = [deployment.Id, 'Projects-1', release.Id, 'Environments-1', deployment.TaskId, 'Channels-1'];
      const answer = await octopus.emitSubscriptionEvent(
        { url: hookUrl, headerKey: 'X-Deckhand-Token', headerValue: 's3cret' },
        { category: 'DeploymentFailed', relatedDocumentIds: related },
      );
      expect(answer).toEqual({ status: 202, body: 'thanks' });
      expect(received).toHaveLength(1);
      const hit = received[0]!;
      expect(hit.method).toBe('POST');
      expect(hit.headers['x-deckhand-token']).toBe('s3cret');
      const payload = JSON.parse(hit.body) as { Timestamp: string; EventType: string; Payload: Record<string, unknown> & { Event: Record<string, unknown>; Subscription: Record<string, unknown> } };
      expect(payload.EventType).toBe('SubscriptionPayload');
      expect(typeof payload.Timestamp).toBe('string');
      expect(payload.Payload).toMatchObject({ ServerUri: octopus.url, TotalEventsInBatch: 1, EventNumberInBatch: 1, BatchId: expect.any(String) });
      expect(payload.Payload.Subscription).toMatchObject({
        Type: 'Event',
        SpaceId: 'Spaces-1',
        EventNotificationSubscription: { WebhookURI: hookUrl, WebhookHeaderKey: 'X-Deckhand-Token', Filter: { EventCategories: ['DeploymentFailed'] } },
      });
      expect(payload.Payload.Event).toMatchObject({
        Id: expect.stringMatching(/^Events-\d+$/),
        Category: 'DeploymentFailed',
        Occurred: expect.any(String),
        Message: 'Deploy to Staging failed for Core Web release 1.4.0 to Staging',
        RelatedDocumentIds: related,
        SpaceId: 'Spaces-1',
        Username: 'system',
        Links: { Self: expect.stringMatching(/^\/api\/events\/Events-\d+$/) },
      });

      // Without a header key no custom header is sent; message, user and event id as given.
      await octopus.emitSubscriptionEvent({ url: hookUrl }, { category: 'ReleaseCreated', relatedDocumentIds: [release.Id], message: 'Release 1.4.0 created', username: 'alice', eventId: 'Events-7' });
      const second = received[1]!;
      expect(second.headers['x-deckhand-token']).toBeUndefined();
      const event = (JSON.parse(second.body) as { Payload: { Event: Record<string, unknown> } }).Payload.Event;
      expect(event).toMatchObject({ Id: 'Events-7', Category: 'ReleaseCreated', Message: 'Release 1.4.0 created', Username: 'alice', RelatedDocumentIds: [release.Id] });
    } finally {
      await new Promise<void>((resolve) => {
        receiver.close(() => resolve());
        receiver.closeAllConnections();
      });
    }
  });

  it('fails the next matching requests as told, then recovers', async () => {
    octopus.failNext('GET', /\/projects\/all$/, 503, 2);
    const first = await get<ErrorBody>('/api/Spaces-1/projects/all');
    expect(first.status).toBe(503);
    expect(first.body).toEqual({ ErrorMessage: expect.any(String), Errors: [] });
    expect((await get('/api/Spaces-1/environments/all')).status).toBe(200);
    expect((await get('/api/Spaces-1/projects/all')).status).toBe(503);
    expect((await get('/api/Spaces-1/projects/all')).status).toBe(200);
    expect(octopus.callsTo('GET', /\/projects\/all$/).map((c) => c.status)).toEqual([503, 503, 200]);

    octopus.failNext('POST', /\/releases$/, 500);
    const refused = await post('/api/Spaces-1/releases', { ProjectId: 'Projects-1', Version: '1.4.0', SelectedPackages: webPackage('1.4.0') });
    expect(refused.status).toBe(500);
    expect(octopus.releases()).toEqual([]);
    await createRelease();
  });

  it('supports the executions API for releases and deployments', async () => {
    const created = await post('/api/Spaces-1/releases/create/v1', {
      spaceIdOrName: 'Spaces-1',
      ProjectName: 'Core Web',
      ReleaseVersion: '1.4.0',
      ChannelName: 'Default',
      Packages: ['Deploy Core Web:1.4.0'],
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ ReleaseId: 'Releases-1', ReleaseVersion: '1.4.0' });
    const again = await post('/api/Spaces-1/releases/create/v1', { ProjectName: 'Core Web', ReleaseVersion: '1.4.0', IgnoreIfAlreadyExists: true });
    expect(again.body).toEqual({ ReleaseId: 'Releases-1', ReleaseVersion: '1.4.0' });

    const deployed = await post<{ DeploymentServerTasks: Array<{ DeploymentId: string; ServerTaskId: string }> }>('/api/Spaces-1/deployments/create/untenanted/v1', {
      ProjectName: 'Core Web',
      ReleaseVersion: '1.4.0',
      EnvironmentNames: ['Staging', 'Production'],
    });
    expect(deployed.status).toBe(200);
    expect(deployed.body.DeploymentServerTasks).toEqual([
      { DeploymentId: 'Deployments-1', ServerTaskId: 'ServerTasks-1' },
      { DeploymentId: 'Deployments-2', ServerTaskId: 'ServerTasks-2' },
    ]);
    expect((await post('/api/Spaces-1/deployments/create/untenanted/v1', { ProjectName: 'Core Web', ReleaseVersion: '1.4.0', EnvironmentNames: ['QA'] })).status).toBe(400);
  });

  it('adds projects with their own channel, process and package', async () => {
    const id = octopus.addProject({ name: 'Billing API' });
    expect(id).toBe('Projects-2');
    octopus.addPackageVersion('billing-api', '2.0.0');
    const template = await get<{ Packages: Array<{ ActionName: string; PackageId: string }> }>(`/api/Spaces-1/deploymentprocesses/deploymentprocess-${id}/template`);
    expect(template.body.Packages).toEqual([expect.objectContaining({ ActionName: 'Deploy Billing API', PackageId: 'billing-api' })]);
    expect((await get<Collection<{ Id: string }>>(`/api/Spaces-1/projects/${id}/channels`)).body.Items.map((c) => c.Id)).toEqual(['Channels-2']);
    expect(octopus.addRelease(id, '2.0.0')).toEqual({ Id: 'Releases-1', Version: '2.0.0' });
    expect(() => octopus.addRelease('billing-api', '2.0.0')).toThrow(/already/);
  });

  it('models channels: one default, releases in a channel, each channel\'s own newest-first list', async () => {
    const hotfix = octopus.addChannel('Core Web', { name: 'Hotfix' });
    expect(hotfix).toBe('Channels-2');
    octopus.addRelease('Core Web', '1.6.0');
    octopus.addRelease('Core Web', '1.7.0-hotfix.1', { channel: 'Hotfix' });
    const channels = await get<Collection<{ Id: string; Name: string; IsDefault: boolean; Links: Record<string, string> }>>('/api/Spaces-1/projects/Projects-1/channels');
    expect(channels.body.Items.map((c) => [c.Id, c.Name, c.IsDefault])).toEqual([['Channels-1', 'Default', true], ['Channels-2', 'Hotfix', false]]);
    expect(channels.body.Items[1]?.Links.Releases).toBe('/api/Spaces-1/projects/Projects-1/channels/Channels-2/releases{?skip,take,searchByVersion}');

    const all = await get<Collection<Release>>('/api/Spaces-1/projects/Projects-1/releases');
    expect(all.body.Items.map((r) => [r.Version, r.ChannelId])).toEqual([['1.7.0-hotfix.1', 'Channels-2'], ['1.6.0', 'Channels-1']]);
    const ofDefault = await get<Collection<Release>>('/api/Spaces-1/projects/Projects-1/channels/Channels-1/releases?take=1');
    expect(ofDefault.body.Items.map((r) => r.Version)).toEqual(['1.6.0']);
    const ofHotfix = await get<Collection<Release>>('/api/Spaces-1/projects/core-web/channels/channels-2/releases');
    expect(ofHotfix.body.Items.map((r) => r.Version)).toEqual(['1.7.0-hotfix.1']);
    expect((await get('/api/Spaces-1/projects/Projects-1/channels/Channels-9/releases')).status).toBe(404);

    // A new default channel takes over; the old one stops being the default.
    octopus.addChannel('Core Web', { name: 'Stable', isDefault: true });
    octopus.addRelease('Core Web', '2.0.0');
    const after = await get<Collection<{ Name: string; IsDefault: boolean }>>('/api/Spaces-1/projects/Projects-1/channels');
    expect(after.body.Items.filter((c) => c.IsDefault).map((c) => c.Name)).toEqual(['Stable']);
    expect(octopus.releases().at(-1)?.ChannelId).toBe('Channels-3');
    expect(() => octopus.addRelease('Core Web', '2.0.1', { channel: 'Nightly' })).toThrow(/no channel "Nightly"/);
  });

  it('finds a release by its exact version (404 when absent); searchByVersion matches any part of a version', async () => {
    for (const version of ['2.0.1', '2.0.10', '12.0.1', '3.0.0']) octopus.addRelease('Core Web', version);
    const search = await get<Collection<Release>>('/api/Spaces-1/projects/Projects-1/releases?searchByVersion=2.0.1');
    expect(search.body.Items.map((r) => r.Version)).toEqual(['12.0.1', '2.0.10', '2.0.1']);
    const page = await get<Collection<Release>>('/api/Spaces-1/projects/Projects-1/releases?searchByVersion=2.0.1&take=2');
    expect(page.body).toMatchObject({ TotalResults: 3, Items: [{ Version: '12.0.1' }, { Version: '2.0.10' }] });

    const exact = await get<Release>('/api/Spaces-1/projects/Projects-1/releases/2.0.1');
    expect(exact.status).toBe(200);
    expect(exact.body).toMatchObject({ Id: 'Releases-1', Version: '2.0.1', ProjectId: 'Projects-1', ChannelId: 'Channels-1' });
    expect((await get<Release>('/api/Spaces-1/projects/core-web/releases/12.0.1')).body.Id).toBe('Releases-3');
    const absent = await get<ErrorBody>('/api/Spaces-1/projects/Projects-1/releases/2.0');
    expect(absent.status).toBe(404);
    expect(absent.body.ErrorMessage).toMatch(/not found/);
    expect((await get('/api/Spaces-1/projects/Projects-9/releases/2.0.1')).status).toBe(404);
  });
});
