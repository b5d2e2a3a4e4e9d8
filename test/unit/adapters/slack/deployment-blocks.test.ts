import { deploymentMessage, escapeMrkdwn } from '../../../../adapters/slack/deployment-blocks.js';
import type { Deployment } from '../../../../src/core/model.js';

const base: Deployment = {
  id: 7, app: 'api', environment: 'production', ref: 'main', state: 'running', provider: 'script', source: 'chat',
  requestedBy: 'U024BE7LH', room: 'C1', dryRun: false, forced: false, rollbackOf: null, createdAt: '2026-11-23T10:00:00.000Z',
  startedAt: '2026-11-23T10:00:01.000Z', finishedAt: null, exitCode: null, reason: null, logTail: null, origin: null, logToken: 'tok',
  external: null,
};

describe('deploymentMessage', () => {
  test('headline, fields and a fallback text', () => {
    const { text, blocks } = deploymentMessage(base);
    expect(text).toBe('Deployment #7 api/main to production: running');
    expect(JSON.stringify(blocks)).toContain(':rocket: *Deployment #7* api/main to production — *running*');
    expect(JSON.stringify(blocks)).toContain('*Requested by*\\n<@U024BE7LH>');
  });

  test('a failure shows why and the end of the log, escaped', () => {
    const failed = { ...base, state: 'failed' as const, finishedAt: '2026-11-23T10:00:13.000Z', reason: 'exited with code 1', logTail: `${'x'.repeat(5000)}\n<script> & done` };
    const json = JSON.stringify(deploymentMessage(failed).blocks);
    expect(json).toContain(':x: *Deployment #7* api/main to production — *failed* in 12s');
    expect(json).toContain('*Why:* exited with code 1');
    expect(json).toContain('&lt;script&gt; &amp; done');
    for (const block of deploymentMessage(failed).blocks) {
      if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    }
  });

  test('user-controlled text cannot inject mentions or links', () => {
    expect(escapeMrkdwn('<!channel> <http://evil|x>')).toBe('&lt;!channel&gt; &lt;http://evil|x&gt;');
    const json = JSON.stringify(deploymentMessage({ ...base, requestedBy: 'shell:<!here>' }).blocks);
    expect(json).not.toContain('<!here>');
  });

  test('links: the log, the environment once it succeeded, and the GitHub twin; a mirrored deployment has no thread output', () => {
    const own = { ...base, state: 'succeeded' as const, finishedAt: '2026-11-23T10:00:05.000Z', external: { system: 'github', id: '77', repository: 'acme/api', url: 'https://api.github.com/repos/acme/api/deployments/77' } };
    const context = (d: Deployment, links = {}) => JSON.stringify(deploymentMessage(d, links).blocks.at(-1));
    expect(context(own, { logUrl: 'https://deckhand.example/deployments/7/log?token=t', environmentUrl: 'https://api.example' })).toBe(
      JSON.stringify({ type: 'context', elements: [{ type: 'mrkdwn', text: 'chat · output in the thread · <https://deckhand.example/deployments/7/log?token=t|full log> · <https://api.example|open production> · GitHub deployment 77' }] }),
    );
    expect(context({ ...own, state: 'running' }, { environmentUrl: 'https://api.example' })).not.toContain('open production');
    const mirror = { ...own, provider: 'external:github', source: 'webhook' as const, requestedBy: 'github:actions-bot' };
    expect(context(mirror, { logUrl: 'https://github.com/acme/api/actions/runs/1' })).toContain('webhook from github · <https://github.com/acme/api/actions/runs/1|full log>');
    expect(context(mirror)).not.toContain('output in the thread');
  });
});
