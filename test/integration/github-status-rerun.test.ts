import { Octokit } from '@octokit/rest';
import { systemClock } from '../../src/core/clock.js';
import type { Deployment, Job } from '../../src/core/model.js';
import { GitHubStatusReporter, type StatusJob } from '../../src/github/status-reporter.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github/fake-github.js';
import { testConfig } from '../fixtures/config.js';

/**
 * A `github-status` job whose attempt GitHub answered, and that never completed (the process was
 * killed with SIGKILL, or the answer was lost on the way): its next attempt must not post the
 * status a second time. The real reporter and Octokit against the fake GitHub; each attempt is run
 * as the job worker runs it (the job's `attempts` counts the claims).
 */
describe('a re-run of a GitHub deployment status job posts its status once', () => {
  let github: FakeGitHub;
  let reporter: GitHubStatusReporter;
  let githubId: number;

  beforeAll(async () => {
    github = await startFakeGitHub();
    github.addRepo('acme', 'api');
    const quiet = () => {};
    const octokit = new Octokit({ auth: github.token, baseUrl: github.url, log: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
    githubId = ((await octokit.rest.repos.createDeployment({ owner: 'acme', repo: 'api', ref: 'main', environment: 'staging', required_contexts: [], auto_merge: false })).data as { id: number }).id;
    const store = new SqliteStore(':memory:');
    await store.migrate();
    reporter = new GitHubStatusReporter({ store, config: testConfig(), clock: systemClock, octokit: async () => octokit, publicUrl: () => null, wake: () => {} });
  });
  afterAll(async () => {
    await github?.close();
  });

  const deployment = (id: number, state: Deployment['state']) => ({ id, app: 'hello', environment: 'staging', state, reason: null }) as unknown as Deployment;
  const attempt = (payload: StatusJob, attempts: number) => reporter.handle({ id: 1, type: 'github-status', payload, attempts } as unknown as Job);
  const statuses = () => github.statuses('acme', 'api', githubId).map((s) => `${s.state} ${s.description}`);

  test('a deployment\'s state: the second attempt finds it among the deployment\'s statuses', async () => {
    const queued: StatusJob = { repository: 'acme/api', githubId, state: 'queued', deployment: deployment(7, 'queued') };
    await attempt(queued, 1);
    expect(statuses()).toEqual(['queued Deckhand #7 queued']);
    await attempt(queued, 2);
    await attempt(queued, 3);
    expect(statuses()).toEqual(['queued Deckhand #7 queued']);
    expect(github.callsTo('GET', /\/statuses$/)).toHaveLength(2);

    // A later state of the same deployment is its own status, found by its own description.
    const running: StatusJob = { repository: 'acme/api', githubId, state: 'in_progress', deployment: deployment(7, 'running') };
    await attempt(running, 2);
    expect(statuses()).toEqual(['queued Deckhand #7 queued', 'in_progress Deckhand #7 running']);
  });

  test('a refusal: the same', async () => {
    const refusal: StatusJob = { repository: 'acme/api', githubId, state: 'failure', description: 'refused: production is locked' };
    await attempt(refusal, 1);
    await attempt(refusal, 2);
    expect(statuses().filter((s) => s.startsWith('failure'))).toEqual(['failure refused: production is locked']);
  });

  test('when the listing fails, the job fails (and is retried) rather than post blind', async () => {
    const succeeded: StatusJob = { repository: 'acme/api', githubId, state: 'success', deployment: deployment(7, 'succeeded') };
    github.failNext('GET', /\/statuses$/, 502);
    await expect(attempt(succeeded, 2)).rejects.toMatchObject({ status: 502 });
    expect(statuses().filter((s) => s.startsWith('success'))).toEqual([]);
    await attempt(succeeded, 3);
    expect(statuses().filter((s) => s.startsWith('success'))).toEqual(['success Deckhand #7 succeeded']);
  });
});
