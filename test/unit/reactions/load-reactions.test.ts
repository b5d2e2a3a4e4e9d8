import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode } from '../../../src/core/errors.js';
import { loadReactions, parseReaction } from '../../../src/reactions/load-reactions.js';

const base = os.tmpdir();
const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseReaction(text, path.join(base, 'reactions', 'r.yaml'), env, base);

describe('parseReaction', () => {
  test('a valid event reaction, with its name defaulting to the file name', () => {
    const { reaction, problems, warnings } = parse(`
on:
  event: deployment.succeeded
  where: { environment: production }
do:
  - chat: { channel: "#ops", text: "{{ deployment.app }} is live" }
`);
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
    expect(reaction).toMatchObject({ name: 'r', kind: 'event', concurrency: 4 });
  });

  test('no filter on an internal event is allowed but flagged', () => {
    const { reaction, warnings } = parse('on: { event: [deployment.failed] }\ndo:\n  - chat: { channel: "#ops", text: hi }\n');
    expect(reaction).toBeDefined();
    expect(warnings[0]).toMatch(/r\.yaml:1:\d+: on: no "where:" filter, so "r" runs for every deployment\.failed of every app/);
  });

  test('a webhook may not trigger an outgoing HTTP request, and says why', () => {
    const { problems } = parse(
      `
on: { webhook: hook, auth: { api_key: "\${secret.HOOK_KEY}" } }
do:
  - http: { url: "https://example.test/x" }
`,
      { HOOK_KEY: '0123456789abcdef0123' },
    );
    expect(problems[0]).toMatch(/r\.yaml:4:\d+: do\[0\]\.http: a webhook cannot trigger an outgoing HTTP request: Deckhand is not a pass-through HTTP broker/);
  });

  test('problems name file, line and path: unknown event, bad template, bad cron, short key, unknown key', () => {
    expect(parse('on: { event: deploy.done }\ndo:\n  - chat: { channel: c, text: t }\n').problems[0]).toMatch(/r\.yaml:1:\d+: on.*unknown event; known events: deployment\.queued/s);
    expect(parse('on: { event: deployment.succeded, where: { app: x } }\ndo:\n  - chat: { channel: c, text: t }\n').problems[0]).toContain('unknown event "deployment.succeded": did you mean "deployment.succeeded"?');
    expect(parse('on: { event: release.created, where: { app: x } }\ndo:\n  - chat: { chanel: c, text: t }\n').problems.join('\n')).toContain('did you mean "channel"?');
    expect(parse('on: { event: release.created, where: { app: x } }\ndo:\n  - chat: { channel: c, text: "{{ release.version | nosuchfilter }}" }\n').problems[0]).toMatch(/r\.yaml:3:\d+: do\[0\]\.chat\.text: .*nosuchfilter/);
    expect(parse('on: { schedule: "61 * * * *" }\ndo:\n  - deploy: { app: api }\n').problems[0]).toMatch(/on\.schedule: "61 \* \* \* \*" is not a cron expression/);
    expect(parse('on: { webhook: h, auth: { api_key: "${secret.K}" } }\ndo:\n  - chat: { channel: c, text: t }\n', { K: 'short' }).problems[0]).toMatch(/on\.auth\.api_key: use a key of at least 16 characters/);
    expect(parse('on: { webhook: h, auth: { api_key: literal-key-in-the-yaml-0123 } }\ndo:\n  - chat: { channel: c, text: t }\n').problems[0]).toMatch(
      /r\.yaml:1:\d+: on\.auth\.api_key: write the key as \$\{secret\.NAME\} and set NAME in the environment or DECKHAND_SECRETS_FILE/,
    );
    expect(parse('on: { event: release.created, where: { app: x } }\ndo:\n  - chat: { channel: c, text: t, colour: red }\n').problems.join('\n')).toMatch(/do\[0\]/);
    expect(parse('on: [\n').problems[0]).toMatch(/r\.yaml:\d+:\d+:/);
  });

  test("api: a script lists what it may do through the REST API; nothing by default; unknown scopes are refused", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-api-scopes-'));
    const script = path.join(dir, 'run.sh');
    writeFileSync(script, '#!/usr/bin/env bash\n');
    const on = 'on: { event: release.created, where: { app: x } }\ndo:\n';
    expect(parse(`${on}  - script: { path: ${script}, api: [release, message] }\n`).reaction?.do[0]).toEqual({ script: expect.objectContaining({ api: ['release', 'message'] }) });
    expect(parse(`${on}  - script: { path: ${script} }\n`).reaction?.do[0]).toEqual({ script: expect.objectContaining({ api: [] }) });
    // The action union reports no more than "do[0]: Invalid input" for now (as for any unknown key).
    expect(parse(`${on}  - script: { path: ${script}, api: [deploy, admin] }\n`).problems[0]).toMatch(/r\.yaml:3:\d+: do\[0\]/);
  });

  test('requires: a reaction whose credentials are not set is off, not an error', () => {
    const text = 'requires: [API_TOKEN]\non: { event: deployment.succeeded, where: { app: x } }\ndo:\n  - http: { url: "https://x.test", headers: { Authorization: "Bearer ${secret.API_TOKEN}" } }\n';
    expect(parse(text).disabled).toEqual({ name: 'r', file: path.join(base, 'reactions', 'r.yaml'), reason: 'set API_TOKEN to turn it on' });
    const on = parse(text, { API_TOKEN: 'tok-123456789' });
    expect(on.reaction?.secrets).toEqual(['tok-123456789']);
    expect(on.reaction?.do[0]).toEqual(expect.objectContaining({ http: expect.objectContaining({ headers: { Authorization: 'Bearer tok-123456789' } }) }));
  });

  test('hostile YAML is refused cleanly', () => {
    expect(parse('on: { event: release.created, where: { app: x } }\n__proto__: { polluted: 1 }\ndo:\n  - chat: { channel: c, text: t }\n').problems[0]).toMatch(/"__proto__" is not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('loadReactions', () => {
  test('names and webhook paths must be unique; every problem is reported at once', () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-r-')), 'reactions');
    mkdirSync(dir);
    const hook = 'on: { webhook: same, auth: { api_key: "${secret.K}" } }\ndo:\n  - chat: { channel: c, text: t }\n';
    writeFileSync(path.join(dir, 'a.yaml'), hook);
    writeFileSync(path.join(dir, 'b.yaml'), hook);
    writeFileSync(path.join(dir, 'c.yaml'), 'on: {}\n');
    try {
      loadReactions(dir, { K: '0123456789abcdef0' });
      throw new Error('expected a failure');
    } catch (err) {
      const e = err as { code: string; message: string };
      expect(e.code).toBe(ErrorCode.ConfigInvalid);
      expect(e.message).toContain('/triggers/same is also served by');
      expect(e.message).toMatch(/c\.yaml:1:\d+/);
    }
  });

  test('the bundled catalog loads with no credentials: everything in it is off', () => {
    const loaded = loadReactions(path.join(process.cwd(), 'reactions'), {});
    expect(loaded.reactions).toEqual([]);
    for (const d of loaded.disabled) expect(d.reason).toMatch(/^set [A-Z_]+/);
  });
});
