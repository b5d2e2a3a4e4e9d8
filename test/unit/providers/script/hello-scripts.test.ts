import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runScript } from '../../../../src/providers/script/run-script.js';
import { onPath, repoRoot } from './helpers.js';

// The demo scripts pause ~0.2 s per step on purpose, and pwsh itself is slow to start.
const hasPwsh = onPath('pwsh');
const variants = [
  { ext: 'sh', available: true, timeoutMs: 3000 },
  { ext: 'ps1', available: hasPwsh, timeoutMs: 15000 },
];
if (!hasPwsh) console.log('pwsh not on PATH: skipped the hello-*.ps1 tests');

describe.each(variants)('hello demo scripts (.$ext)', ({ ext, available, timeoutMs }) => {
  const it = available ? test : test.skip;
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-hello-test-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  function deploymentEnv(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      DECKHAND_APP: 'hello',
      DECKHAND_ENVIRONMENT: 'staging',
      DECKHAND_REF: 'v1.4.0',
      DECKHAND_DEPLOYMENT_ID: '42',
      DECKHAND_REQUESTED_BY: 'ada',
      DECKHAND_DRY_RUN: 'false',
      DECKHAND_DATA_DIR: dataDir,
      ...overrides,
    };
  }

  function run(script: string, env: Record<string, string>) {
    return runScript({
      script: `scripts/${script}.${ext}`,
      cwd: repoRoot,
      env,
      payload: { id: Number(env.DECKHAND_DEPLOYMENT_ID), ref: env.DECKHAND_REF },
      payloadEnvVar: 'DECKHAND_DEPLOYMENT_FILE',
      timeoutMs,
      killGraceMs: 200,
    });
  }

  const markerPath = () => path.join(dataDir, 'hello', 'staging', 'current.json');
  const historyPath = () => path.join(dataDir, 'hello', 'staging', 'history.log');

  it('deploy writes the release marker and appends to the history', async () => {
    const first = await run('hello-deploy', deploymentEnv());
    expect(first.exitCode).toBe(0);
    expect(first.output).toContain('Deploying hello@v1.4.0 to staging (deployment #42');
    expect(first.output).toContain('Writing release marker');
    expect(first.output.trimEnd().endsWith('Done.')).toBe(true);

    const marker = JSON.parse(readFileSync(markerPath(), 'utf8')) as Record<string, unknown>;
    expect(marker).toEqual({
      app: 'hello',
      environment: 'staging',
      ref: 'v1.4.0',
      deployment_id: 42,
      requested_by: 'ada',
      deployed_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
    });

    const second = await run('hello-deploy', deploymentEnv({ DECKHAND_REF: 'v1.5.0', DECKHAND_DEPLOYMENT_ID: '43' }));
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(markerPath(), 'utf8'))).toMatchObject({ ref: 'v1.5.0', deployment_id: 43 });

    const history = readFileSync(historyPath(), 'utf8').split('\n').filter(Boolean);
    expect(history).toHaveLength(2);
    expect(history[0]).toMatch(/^\S+Z #42 v1\.4\.0 ada$/);
    expect(history[1]).toMatch(/^\S+Z #43 v1\.5\.0 ada$/);
    expect(history[0]?.split(' ')[0]).toBe(marker.deployed_at);
    expect(readdirSync(path.dirname(markerPath())).sort()).toEqual(['current.json', 'history.log']);
  });

  it('deploy escapes awkward characters in the JSON marker', async () => {
    const requestedBy = 'Ada "the admin" \\ Lovelace';
    const result = await run('hello-deploy', deploymentEnv({ DECKHAND_REQUESTED_BY: requestedBy }));
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(markerPath(), 'utf8'))).toMatchObject({ requested_by: requestedBy });
  });

  it('a dry run says what it would do and writes nothing', async () => {
    const result = await run('hello-deploy', deploymentEnv({ DECKHAND_DRY_RUN: 'true' }));
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('DRY RUN: would write');
    expect(existsSync(path.join(dataDir, 'hello'))).toBe(false);
  });

  it('a ref starting with "fail" fails without writing the marker', async () => {
    const lines: Array<[string, string]> = [];
    const result = await runScript({
      script: `scripts/hello-deploy.${ext}`,
      cwd: repoRoot,
      env: deploymentEnv({ DECKHAND_REF: 'fail-demo' }),
      payload: {},
      payloadEnvVar: 'DECKHAND_DEPLOYMENT_FILE',
      timeoutMs,
      onLine: (line, stream) => lines.push([line, stream]),
    });
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/error: .*fail-demo/);
    expect(lines.filter(([, stream]) => stream === 'stderr').map(([line]) => line)).toEqual([
      expect.stringMatching(/^error: .*fail-demo/),
    ]);
    expect(existsSync(markerPath())).toBe(false);
  });

  it('deploy exits 2 naming a missing variable', async () => {
    const env = deploymentEnv();
    delete env.DECKHAND_REQUESTED_BY;
    const result = await run('hello-deploy', env);
    expect(result.exitCode).toBe(2);
    expect(result.output).toContain('DECKHAND_REQUESTED_BY is not set');
  });

  it.each([
    ['DECKHAND_ENVIRONMENT', '../escape'],
    ['DECKHAND_DATA_DIR', 'relative/dir'],
    ['DECKHAND_DRY_RUN', 'yes'],
    ['DECKHAND_DEPLOYMENT_ID', '12; rm -rf /'],
  ])('deploy exits 2 when %s is %p', async (name, value) => {
    const result = await run('hello-deploy', deploymentEnv({ [name]: value }));
    expect(result.exitCode).toBe(2);
    expect(result.output).toContain(name);
    expect(existsSync(path.join(dataDir, 'hello'))).toBe(false);
  });

  it('check passes an ordinary ref', async () => {
    const result = await run('hello-check', deploymentEnv());
    expect(result).toMatchObject({ exitCode: 0, output: 'checks passed for v1.4.0\n' });
  });

  it('check refuses a work-in-progress ref', async () => {
    const result = await run('hello-check', deploymentEnv({ DECKHAND_REF: 'wip-login' }));
    expect(result.exitCode).toBe(1);
    expect(result.output).toBe('ref wip-login looks like work in progress; use deploy! to force\n');
  });
});
