import path from 'node:path';
import { projectRoot } from '../../../src/app.js';
import { validate } from '../../../src/cli/validate.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const file = path.join(projectRoot, 'deckhand.yaml');
const withNotify = (notify: string) => `
environments:
  staging: {}
apps:
  hello:
    provider: { script: scripts/hello-deploy.sh }
    environments: [staging]
    notify: ${notify}
`;

const problemOf = (text: string, env: NodeJS.ProcessEnv = {}): string => {
  try {
    parseConfig(text, file, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
};

const teamsEnv = { TEAMS_APP_ID: 'app' };

describe('notify targets per platform', () => {
  test('the plain string still names a Slack channel', () => {
    const app = parseConfig(withNotify('"#deploys"'), file, {}).apps.hello;
    expect(app?.notify).toBe('#deploys');
    expect(app?.notifyTeams).toBeUndefined();
  });

  test('slack: and teams: name one target each', () => {
    const config = parseConfig(withNotify('{ slack: "#deploys", teams: "19:abcDEF_123@thread.tacv2" }'), file, teamsEnv);
    expect(config.apps.hello).toMatchObject({ notify: '#deploys', notifyTeams: '19:abcDEF_123@thread.tacv2' });
    expect(config.warnings).toEqual([]);
    expect(parseConfig(withNotify('{ teams: "a:1personal-chat" }'), file, teamsEnv).apps.hello).toMatchObject({ notify: undefined, notifyTeams: 'a:1personal-chat' });
  });

  test('an ill-formed Teams target is an error at file:line:column', () => {
    const message = problemOf(withNotify('{ teams: "#deploys" }'), teamsEnv);
    expect(message).toContain('deckhand.yaml:8:');
    expect(message).toContain('apps.hello.notify');
    expect(message).toContain('write a Teams conversation id');
  });

  test('an unknown platform is an error naming the ones there are', () => {
    const message = problemOf(withNotify('{ slak: "#deploys" }'), teamsEnv);
    expect(message).toContain('deckhand.yaml:8:');
    expect(message).toMatch(/slak.*slack/);
  });

  test('an empty object is an error', () => {
    expect(problemOf(withNotify('{}'), teamsEnv)).toContain('name a Slack channel (slack:) and/or a Teams conversation (teams:)');
  });

  test('a Teams id in the plain (Slack) form is an error that says how to write it', () => {
    const message = problemOf(withNotify('"19:abc@thread.tacv2"'), teamsEnv);
    expect(message).toContain('deckhand.yaml:8:13: apps.hello.notify: "19:abc@thread.tacv2" is a Teams conversation id');
    expect(message).toContain('notify: { teams: "19:abc@thread.tacv2" }');
  });

  test('a Teams target without Teams configured loads, with a warning that validate prints', () => {
    const text = withNotify('{ slack: "#deploys", teams: "19:abc@thread.tacv2" }');
    const config = parseConfig(text, file, {});
    expect(config.apps.hello?.notifyTeams).toBe('19:abc@thread.tacv2');
    expect(config.warnings).toEqual([expect.stringMatching(/^deckhand\.yaml:8:\d+: apps\.hello\.notify\.teams: Teams is not configured here \(TEAMS_APP_ID is not set\)/)]);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-notify-'));
    writeFileSync(path.join(dir, 'deckhand.yaml'), text.replace('scripts/hello-deploy.sh', path.join(projectRoot, 'scripts/hello-deploy.sh')));
    const lines: string[] = [];
    const code = validate({ configPath: path.join(dir, 'deckhand.yaml'), fallbackConfig: '', reactionsDir: path.join(dir, 'reactions'), env: {}, write: (l) => lines.push(l) });
    expect(code).toBe(0);
    expect(lines).toContainEqual(expect.stringMatching(/^warn {2}.*apps\.hello\.notify\.teams: Teams is not configured here/));
  });

  test('oncall.teams: a Teams conversation id, checked like notify.teams', () => {
    const oncall = (teams: string) => `${withNotify('"#deploys"')}oncall:\n  teams: ${teams}\n  users: { "teams:aad-alice": jdoe }\n`;
    expect(parseConfig(oncall('"19:incidents@thread.tacv2"'), file, teamsEnv).oncall).toMatchObject({ teams: '19:incidents@thread.tacv2', users: { 'teams:aad-alice': 'jdoe' } });
    expect(problemOf(oncall('"#incidents"'), teamsEnv)).toMatch(/deckhand\.yaml:10:\d+: oncall\.teams: write a Teams conversation id/);
    expect(parseConfig(oncall('"19:incidents@thread.tacv2"'), file, {}).warnings).toEqual([expect.stringMatching(/deckhand\.yaml:10:\d+: oncall\.teams: Teams is not configured here/)]);
  });
});
