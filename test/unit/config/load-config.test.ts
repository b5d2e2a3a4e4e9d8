import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../../src/app.js';
import { loadEnv } from '../../../src/config/env.js';
import { githubAuthFromEnv } from '../../../src/github/octokit.js';
import { loadConfig, parseConfig } from '../../../src/config/load-config.js';
import { ErrorCode } from '../../../src/core/errors.js';

const file = path.join(projectRoot, 'deckhand.yaml');
const base = `
environments:
  staging: { aliases: [stg] }
  production: {}
apps:
  hello:
    provider: { script: scripts/hello-deploy.sh, timeout: 90s }
    environments: [staging, production]
`;

const problemOf = (text: string, env: NodeJS.ProcessEnv = {}) => {
  try {
    parseConfig(text, file, env);
  } catch (err) {
    return err as Error & { code: string };
  }
  throw new Error('expected the config to be refused');
};

describe('parseConfig', () => {
  test('the bundled example loads and is frozen', () => {
    const config = loadConfig({ cwd: os.tmpdir(), fallbackPath: path.join(projectRoot, 'deckhand.example.yaml'), env: {} });
    expect(Object.keys(config.apps)).toContain('hello');
    expect(config.apps.hello?.provider).toMatchObject({ kind: 'script', script: path.join(projectRoot, 'scripts/hello-deploy.sh') });
    expect(Object.isFrozen(config.apps.hello)).toBe(true);
    expect(config.locks.holderMayDeploy).toBe(false);
  });

  test('defaults and durations', () => {
    const config = parseConfig(base, file, {});
    expect(config.bot).toEqual({ name: 'deckhand', prefix: '!' });
    expect(config.apps.hello?.provider.timeoutMs).toBe(90_000);
    expect(config.apps.hello?.defaultRef).toBe('main');
  });

  test('a YAML syntax error names file, line and column', () => {
    const err = problemOf('environments:\n  staging: {\napps: [');
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expect(err.message).toMatch(/deckhand\.yaml:\d+:\d+:/);
  });

  test('an unknown environment in an app points at its line and lists the known ones', () => {
    const err = problemOf(base.replace('[staging, production]', '[staging, qa]'));
    expect(err.message).toContain('deckhand.yaml:8:');
    expect(err.message).toContain('apps.hello.environments[1]: "qa" is not a defined environment');
    expect(err.message).toContain('staging, production');
  });

  test('a misspelled key is refused with its line', () => {
    const err = problemOf(base.replace('timeout: 90s', 'timeuot: 90s'));
    expect(err.message).toMatch(/deckhand\.yaml:7:\d+: apps\.hello\.provider: unknown key "timeuot": did you mean "timeout"\?/);
  });

  test('misspelt keys get "did you mean", at the top level and deep down; far-off keys list the known ones', () => {
    expect(problemOf(base.replace('environments:\n  staging', 'enviroments:\n  staging')).message).toContain('(top level): unknown key "enviroments": did you mean "environments"?');
    expect(problemOf(base.replace('    environments: [staging', '    notfy: "#ops"\n    environments: [staging')).message).toContain('apps.hello: unknown key "notfy": did you mean "notify"?');
    expect(problemOf(base.replace('production: {}', 'production: { protectd: true }')).message).toContain('environments.production: unknown key "protectd": did you mean "protected"?');
    expect(problemOf(base.replace('production: {}', 'production: { colour: red }')).message).toMatch(/unknown key "colour" \(known keys here: aliases, protected, approvers, /);
  });

  test('yes/no where true/false is meant says how YAML read it', () => {
    expect(problemOf(base.replace('production: {}', 'production: { protected: yes }')).message).toContain(
      'environments.production.protected: expected true or false, got "yes" (YAML 1.2 reads yes as text): write true or false, without quotes',
    );
  });

  test('bad values say what to write', () => {
    expect(problemOf(base.replace('90s', 'soon')).message).toContain('"soon" is not a duration: write e.g. 30s, 15m or 1h');
    expect(problemOf(`${base}roles:\n  x: { may: [deploy-staging] }\n`).message).toMatch(/roles\.x\.may\[0\]: write <verb>:<scope>/);
    expect(problemOf(base.replace('hello:', 'Hello World:')).message).toContain('use lower-case letters');
  });

  test('a missing script names the path it looked for', () => {
    const err = problemOf(base.replace('scripts/hello-deploy.sh', 'scripts/nope.sh'));
    expect(err.message).toMatch(/deckhand\.yaml:7:\d+: apps\.hello\.provider\.script: script scripts\/nope\.sh does not exist/);
  });

  test('alias collisions and duplicate keys are refused', () => {
    expect(problemOf(base.replace('production: {}', 'production: { aliases: [stg] }')).message).toContain('alias "stg" is already used by staging');
    expect(problemOf(`${base}apps:\n  x: {}\n`).message).toMatch(/deckhand\.yaml:\d+:\d+: Map keys must be unique/);
  });

  test('${env.X} and ${secret.X} are resolved once; secrets are collected for redaction', () => {
    const text = base.replace('timeout: 90s', 'timeout: 90s, env: { API_URL: "${env.API_URL}", TOKEN: "${secret.DEPLOY_TOKEN}" }');
    const config = parseConfig(text, file, { API_URL: 'https://x.test', DEPLOY_TOKEN: 's3cr3t-value' });
    expect(config.apps.hello?.provider.env).toEqual({ API_URL: 'https://x.test', TOKEN: 's3cr3t-value' });
    expect(config.secrets).toEqual(['s3cr3t-value']);
    expect(problemOf(text, { API_URL: 'x' }).message).toContain('${secret.DEPLOY_TOKEN} is used but DEPLOY_TOKEN is not set');
    const withDefault = text.replace('${env.API_URL}', '${env.API_URL:-https://default.test}');
    expect(parseConfig(withDefault, file, { DEPLOY_TOKEN: 's3cr3t-value' }).apps.hello?.provider.env.API_URL).toBe('https://default.test');
    expect(parseConfig(withDefault, file, { DEPLOY_TOKEN: 's3cr3t-value', API_URL: 'https://set.test' }).apps.hello?.provider.env.API_URL).toBe('https://set.test');
  });

  test('hostile YAML: alias bombs and prototype keys do not get through', () => {
    const bomb = `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n${base}`;
    expect(problemOf(bomb).code).toBe(ErrorCode.ConfigInvalid);
    const proto = base.replace('apps:', 'apps:\n  __proto__: { polluted: true }');
    expect(problemOf(proto).code).toBe(ErrorCode.ConfigInvalid);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('DECKHAND_CONFIG pointing nowhere is a clear error', () => {
    expect(() => loadConfig({ configPath: '/nonexistent/deckhand.yaml' })).toThrow(/DECKHAND_CONFIG points to \/nonexistent\/deckhand\.yaml/);
  });

  test('./deckhand.yaml wins over the bundled example', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-config-'));
    writeFileSync(path.join(dir, 'deckhand.yaml'), base.replace('scripts/hello-deploy.sh', path.join(projectRoot, 'scripts/hello-deploy.sh')));
    const config = loadConfig({ cwd: dir, fallbackPath: path.join(projectRoot, 'deckhand.example.yaml'), env: {} });
    expect(config.file).toBe(path.join(dir, 'deckhand.yaml'));
  });
});

describe('loadEnv', () => {
  test('defaults', () => {
    expect(loadEnv({})).toMatchObject({ PORT: 8080, DATABASE_URL: 'sqlite:./data/deckhand.db', DECKHAND_DATA_DIR: './data' });
  });

  test('an empty variable counts as unset', () => {
    expect(loadEnv({ PORT: '' }).PORT).toBe(8080);
  });

  test('bad values name the variable and its value', () => {
    expect(() => loadEnv({ PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(/PORT="eighty".*\n.*LOG_LEVEL="loud"/);
  });
});

describe('GitHub authentication from the environment', () => {
  const pem = '-----BEGIN RSA PRIVATE KEY-----\\nMIIB\\n-----END RSA PRIVATE KEY-----';

  test('a token, an App (PEM with \\n escapes, or a key file), or nothing', () => {
    expect(githubAuthFromEnv(loadEnv({ GITHUB_TOKEN: 'ghp_x' }))).toEqual({ token: 'ghp_x' });
    expect(githubAuthFromEnv(loadEnv({}))).toBeUndefined();
    expect(githubAuthFromEnv(loadEnv({ GITHUB_APP_ID: '42', GITHUB_APP_INSTALLATION_ID: '7', GITHUB_APP_PRIVATE_KEY: pem }))).toEqual({
      appId: 42,
      installationId: 7,
      privateKey: '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----',
    });
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-key-')), 'app.pem');
    writeFileSync(file, `${pem.replace(/\\n/g, '\n')}\n`);
    expect(githubAuthFromEnv(loadEnv({ GITHUB_APP_ID: '42', GITHUB_APP_INSTALLATION_ID: '7', GITHUB_APP_PRIVATE_KEY_FILE: file }))).toMatchObject({ appId: 42 });
  });

  test('half an App, an App and a token, or a key that is not a PEM are refused without echoing secrets', () => {
    expect(() => loadEnv({ GITHUB_APP_ID: '42' })).toThrow(/GITHUB_APP_ID="42": a GitHub App needs all three/);
    expect(() => loadEnv({ GITHUB_APP_ID: '42', GITHUB_APP_INSTALLATION_ID: '7', GITHUB_APP_PRIVATE_KEY: pem, GITHUB_TOKEN: 'ghp_secret' })).toThrow(/GITHUB_TOKEN=\(set\): set GITHUB_TOKEN or a GitHub App/);
    expect(() => githubAuthFromEnv(loadEnv({ GITHUB_APP_ID: '42', GITHUB_APP_INSTALLATION_ID: '7', GITHUB_APP_PRIVATE_KEY: 'hunter2' }))).toThrow(/not a PEM private key/);
    expect(() => githubAuthFromEnv(loadEnv({ GITHUB_APP_ID: '42', GITHUB_APP_INSTALLATION_ID: '7', GITHUB_APP_PRIVATE_KEY_FILE: '/nonexistent/key.pem' }))).toThrow(/cannot read \/nonexistent\/key.pem/);
  });
});

describe('documentation of the environment', () => {
  test('every variable Deckhand reads is in .env.example and in the README', async () => {
    const { readFileSync } = await import('node:fs');
    const { envVariableNames } = await import('../../../src/config/env.js');
    const example = readFileSync(path.join(projectRoot, '.env.example'), 'utf8');
    const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    for (const name of envVariableNames) {
      expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
      expect(readme).toContain(`\`${name}\``);
    }
  });
});
