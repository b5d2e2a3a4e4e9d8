import os from 'node:os';
import path from 'node:path';
import { parseReaction } from '../../../src/reactions/load-reactions.js';

const base = os.tmpdir();
const parse = (chat: string, env: NodeJS.ProcessEnv = { TEAMS_APP_ID: 'app' }) =>
  parseReaction(`on: { event: deployment.succeeded, where: { app: hello } }\ndo:\n  - chat: ${chat}\n`, path.join(base, 'reactions', 'r.yaml'), env, base);

describe("a reaction's chat step names a target on either platform", () => {
  test('channel: (as before), slack: and teams: each load', () => {
    for (const chat of ['{ channel: "#ops", text: hi }', '{ slack: "#ops", text: hi }', '{ teams: "19:deploys@thread.tacv2", text: hi, thread: "{{ deployment.id }}" }', '{ teams: "{{ deployment.app }}", text: hi }', '{ slack: "#ops", react: rocket, ts: "1.2" }']) {
      const { reaction, problems, warnings } = parse(chat);
      expect({ chat, problems, warnings }).toEqual({ chat, problems: [], warnings: [] });
      expect(reaction?.do[0]).toMatchObject({ chat: expect.any(Object) });
    }
  });

  test('an ill-formed Teams id is an error at file:line:column', () => {
    expect(parse('{ teams: "#deploys", text: hi }').problems.join('\n')).toMatch(/r\.yaml:3:\d+: .*write a Teams conversation id/);
  });

  test('two targets, or none, are errors that say so', () => {
    expect(parse('{ slack: "#ops", teams: "19:x@thread.tacv2", text: hi }').problems.join('\n')).toMatch(/r\.yaml:3:\d+: .*name one target, not slack and teams/);
    expect(parse('{ text: hi }').problems.join('\n')).toMatch(/say where to post: channel:, slack: "#room" or teams: "<conversation id>"/);
  });

  test('an unknown platform is an error with a suggestion', () => {
    expect(parse('{ temas: "19:x@thread.tacv2", text: hi }').problems.join('\n')).toMatch(/did you mean "teams"\?/);
  });

  test('reactions cannot be added on Teams: react with teams: is refused', () => {
    expect(parse('{ teams: "19:x@thread.tacv2", react: rocket, ts: "1" }').problems).toEqual([expect.stringMatching(/r\.yaml:3:\d+: do\[0\]\.chat\.teams: Teams has no reactions a bot can add/)]);
  });

  test('a Teams target without Teams configured loads with a warning', () => {
    const { reaction, warnings } = parse('{ teams: "19:x@thread.tacv2", text: hi }', {});
    expect(reaction).toBeDefined();
    expect(warnings).toEqual([expect.stringMatching(/r\.yaml:3:\d+: do\[0\]\.chat\.teams: Teams is not configured here \(TEAMS_APP_ID is not set\)/)]);
  });
});
