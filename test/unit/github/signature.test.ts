import { githubSignature } from '../../../src/http/github-webhook-route.js';
import { mergedPullRequest } from '../../../src/github/handle-github-delivery.js';

describe('GitHub webhook signature', () => {
  test("GitHub's published test vector", () => {
    // From GitHub's "Validating webhook deliveries" documentation.
    expect(githubSignature("It's a Secret to Everybody", 'Hello, World!')).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  });
});

describe('mergedPullRequest', () => {
  const closed = { action: 'closed', repository: { full_name: 'acme/api' }, pull_request: { number: 7, title: 'Fix', merged: true, merge_commit_sha: 'abc123', head: { sha: 'def456' }, base: { ref: 'main' }, merged_by: { login: 'octocat' } } };

  test('a merged pull request, by its merge commit', () => {
    expect(mergedPullRequest(closed)).toEqual({ repository: 'acme/api', number: 7, title: 'Fix', baseBranch: 'main', sha: 'abc123', mergedBy: 'octocat' });
  });

  test('closed without merging, or any other action, is nothing to deploy', () => {
    expect(mergedPullRequest({ ...closed, pull_request: { ...closed.pull_request, merged: false } })).toBeNull();
    expect(mergedPullRequest({ ...closed, action: 'opened' })).toBeNull();
  });

  test('falls back to the head sha when GitHub gives no merge commit', () => {
    expect(mergedPullRequest({ ...closed, pull_request: { ...closed.pull_request, merge_commit_sha: null } })?.sha).toBe('def456');
  });
});

describe('appForDeployment', () => {
  test('the app named in the payload, else the only app with that repository', async () => {
    const { appForDeployment } = await import('../../../src/github/run-deployment.js');
    const { parseConfig } = await import('../../../src/config/load-config.js');
    const path = await import('node:path');
    const { projectRoot } = await import('../../../src/app.js');
    const config = parseConfig(
      `environments: { staging: {} }
apps:
  api: { repository: acme/api, provider: { script: scripts/hello-deploy.sh }, environments: [staging] }
  worker: { repository: acme/mono, provider: { script: scripts/hello-deploy.sh }, environments: [staging] }
  web: { repository: acme/mono, provider: { script: scripts/hello-deploy.sh }, environments: [staging] }
`,
      path.join(projectRoot, 'deckhand.test.yaml'),
      {},
    );
    expect(appForDeployment(config, { repository: { full_name: 'Acme/API' }, deployment: {} })).toBe('api');
    expect(appForDeployment(config, { repository: { full_name: 'acme/mono' }, deployment: {} })).toBeNull(); // ambiguous
    expect(appForDeployment(config, { repository: { full_name: 'acme/mono' }, deployment: { payload: { deckhand: { app: 'web' } } } })).toBe('web');
    expect(appForDeployment(config, { repository: { full_name: 'acme/api' }, deployment: { payload: { deckhand: { app: 'web' } } } })).toBeNull();
    expect(appForDeployment(config, { repository: { full_name: 'acme/other' }, deployment: {} })).toBeNull();
  });
});
