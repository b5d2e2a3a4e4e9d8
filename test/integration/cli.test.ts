import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { jsonSchemas } from '../../src/cli/schema.js';
import { mainJs } from './bot-process.js';

const run = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [mainJs, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), PORT: '0', ...env }, encoding: 'utf8', timeout: 20_000 });

function workspace(reaction: string): string {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-cli-'));
  mkdirSync(path.join(cwd, 'reactions'));
  writeFileSync(path.join(cwd, 'reactions', 'announce.yaml'), reaction);
  return cwd;
}

describe('deckhand validate / trigger / schema', () => {
  test('validate: ok and exit 0; a broken reaction is reported with file:line and exit 1', () => {
    const good = workspace('on: { event: release.created, where: { app: hello } }\ndo:\n  - chat: { channel: "#rel", text: "{{ release.version }}" }\n');
    const ok = run(good, ['validate']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ok    reaction announce (event)');
    const bad = workspace('on: { event: release.created }\ndo:\n  - chat: { channel: "#rel", text: "{{ release.version" }\n');
    const failed = run(bad, ['validate']);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/error Invalid reactions:\n {2}reactions\/announce\.yaml:3:\d+: do\[0\]\.chat\.text: /);
  });

  test('trigger --dry-run shows the rendered actions and sends nothing', () => {
    const cwd = workspace('on: { webhook: pkg, auth: { api_key: "${secret.PKG_KEY}" } }\ndo:\n  - chat: { channel: "#rel", text: "new {{ payload.name }} for {{ query.env }}" }\n  - deploy: { app: hello, ref: "{{ payload.version }}", environment: staging }\n');
    writeFileSync(path.join(cwd, 'payload.json'), JSON.stringify({ name: 'api', version: 'v7' }));
    const result = run(cwd, ['trigger', 'announce', '--payload', 'payload.json', '--query', 'env=prod', '--dry-run'], { PKG_KEY: 'pkg-key-0123456789abc' });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      reaction: 'announce',
      fires: true,
      why: 'no where/unless filter: it fires for every trigger',
      actions: [{ chat: { channel: '#rel', text: 'new api for prod' } }, { deploy: { app: 'hello', ref: 'v7', environment: 'staging' } }],
    });
    const missing = run(cwd, ['trigger', 'nope', '--dry-run'], { PKG_KEY: 'pkg-key-0123456789abc' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('No reaction called "nope". Reactions: announce.');
    const unnamed = run(cwd, ['trigger'], { PKG_KEY: 'pkg-key-0123456789abc' });
    expect(unnamed.status).toBe(1);
    expect(unnamed.stderr).toContain('Name the reaction to run: deckhand trigger <reaction>');
    expect(unnamed.stderr).toContain('Reactions: announce.');
    expect(unnamed.stderr).not.toContain('""');
  });

  test('trigger --dry-run masks secrets as *** and says whether where/unless let the payload through', () => {
    const cwd = workspace(`on:
  event: deployment.succeeded
  where: { app: hello }
  unless: { environment: sandbox }
do:
  - http:
      url: "https://api.newrelic.example/v2/applications/\${env.NR_APP}/deployments.json?key=\${secret.NEW_RELIC_API_KEY}"
      headers: { X-Api-Key: "\${secret.NEW_RELIC_API_KEY}" }
      json: { deployment: { revision: "{{ deployment.ref }}", note: "key \${secret.NEW_RELIC_API_KEY}" } }
`);
    const env = { NEW_RELIC_API_KEY: 'NRAK-SECRETSECRET0123', NR_APP: '42' };
    const payload = (data: unknown) => {
      const file = path.join(cwd, `p${Math.random()}.json`);
      writeFileSync(file, JSON.stringify(data));
      return file;
    };
    const fires = run(cwd, ['trigger', 'announce', '--dry-run', '--payload', payload({ deployment: { app: 'hello', environment: 'staging', ref: 'v1' } })], env);
    expect(fires.status).toBe(0);
    expect(fires.stdout).not.toContain('NRAK-SECRETSECRET0123');
    const report = JSON.parse(fires.stdout) as { fires: boolean; why: string; actions: Array<{ http: { url: string; headers: Record<string, string>; json: unknown } }> };
    expect(report).toMatchObject({ fires: true, why: 'the where: filter matches' });
    expect(report.actions[0]?.http).toEqual({
      method: 'POST',
      url: 'https://api.newrelic.example/v2/applications/42/deployments.json?key=***',
      headers: { 'X-Api-Key': '***' },
      json: { deployment: { revision: 'v1', note: 'key ***' } },
    });
    const otherApp = JSON.parse(run(cwd, ['trigger', 'announce', '--dry-run', '--payload', payload({ deployment: { app: 'web', environment: 'staging' } })], env).stdout) as { fires: boolean; why: string };
    expect(otherApp).toMatchObject({ fires: false, why: 'the where: filter does not match this payload' });
    const sandbox = JSON.parse(run(cwd, ['trigger', 'announce', '--dry-run', '--payload', payload({ deployment: { app: 'hello', environment: 'sandbox' } })], env).stdout) as { fires: boolean; why: string };
    expect(sandbox).toMatchObject({ fires: false, why: 'the unless: filter matches this payload' });
  });

  test('secrets come from DECKHAND_SECRETS_FILE (never the YAML); a missing secrets file is an error', () => {
    const cwd = workspace('on: { webhook: pkg, auth: { api_key: "${secret.PKG_KEY}" } }\ndo:\n  - chat: { channel: "#rel", text: hi }\n');
    writeFileSync(path.join(cwd, 'secrets.env'), 'PKG_KEY=from-the-secrets-file-0123\n');
    const ok = run(cwd, ['validate'], { DECKHAND_SECRETS_FILE: 'secrets.env' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ok    reaction announce (webhook)');
    expect(ok.stdout).not.toContain('from-the-secrets-file');
    const missing = run(cwd, ['validate'], { DECKHAND_SECRETS_FILE: 'nope.env' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('DECKHAND_SECRETS_FILE points to nope.env, which does not exist.');
  });

  test('the committed JSON Schemas are the ones the code generates', () => {
    const schemas = jsonSchemas();
    expect(JSON.parse(readFileSync(path.join(projectRoot, 'schemas/reaction.schema.json'), 'utf8'))).toEqual(schemas.reaction);
    expect(JSON.parse(readFileSync(path.join(projectRoot, 'schemas/config.schema.json'), 'utf8'))).toEqual(schemas.config);
  });
});

describe('the shipped MyGet example, end to end', () => {
  test('POST /triggers/mygetpackage creates a release through the example script and the API', async () => {
    const { startBot } = await import('./bot-process.js');
    const bot = await startBot({ env: { MYGET_TRIGGER_KEY: 'myget-key-0123456789', DECKHAND_REACTIONS: path.join(projectRoot, 'reactions') } });
    await bot.waitFor('Deckhand on the terminal');
    const response = await fetch(`http://127.0.0.1:${bot.port}/triggers/mygetpackage?app=hello`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer myget-key-0123456789' },
      body: JSON.stringify({ Identifier: 'x', Payload: { PackageIdentifier: 'Hello.Web', PackageVersion: '3.0.0' } }),
    });
    expect(response.status).toBe(202);
    await bot.waitFor('[release] hello 3.0.0 created by reaction:myget-new-package');
    bot.child.stdin.end();
    expect(await bot.exited).toBe(0);
  });
});
