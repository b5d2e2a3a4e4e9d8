import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { messageActivity, startFakeTeams, type FakeTeams } from '../fakes/teams/fake-teams.js';
import { postActivity, teamsConfigDir, teamsEnv } from '../fakes/teams/teams-bot.js';
import { mainJs, startBot, type BotProcess } from './bot-process.js';

const deploys = '19:deploys@thread.tacv2';
const unheard = '19:nobody-spoke-here@thread.tacv2';
const unknownAddress = 'does not know its address';

/**
 * `notify: { teams: … }`: a deployment started outside Teams (here through the REST API with an
 * operator token) gets its card in the app's Teams conversation, updated in place — once that
 * conversation's address is known from an earlier activity. Before that, one warning, no crash.
 */
describe('Teams notify targets', () => {
  let teams: FakeTeams;
  let bot: BotProcess | undefined;
  let cwd: string;
  let token: string;

  beforeAll(async () => {
    teams = await startFakeTeams();
    cwd = teamsConfigDir();
    const script = path.join(projectRoot, 'scripts/hello-deploy.sh');
    writeFileSync(
      path.join(cwd, 'deckhand.yaml'),
      `
environments:
  staging: {}
apps:
  hello:
    provider: { script: ${script}, timeout: 30s }
    environments: [staging]
    notify: { teams: "${deploys}" }
  web:
    provider: { script: ${script}, timeout: 30s }
    environments: [staging]
    notify: { teams: "${unheard}" }
roles:
  ci: { members: [], may: ["deploy:*", "read:deployments"] }
`,
    );
    // A reaction's chat step that names the Teams conversation (the process runs Teams only, so `teams:` picks its port).
    mkdirSync(path.join(cwd, 'reactions'));
    writeFileSync(path.join(cwd, 'reactions', 'live.yaml'), `on: { event: deployment.succeeded, where: { app: hello } }\ndo:\n  - chat: { teams: "${deploys}", text: "{{ deployment.app }} #{{ deployment.id }} is live" }\n`);
    bot = await startBot({ cwd, env: teamsEnv(teams) });
    await bot.waitFor('Deckhand on Microsoft Teams');
    const created = spawnSync(process.execPath, [mainJs, 'token', 'create', '--name', 'ci', '--role', 'ci'], { cwd, env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...teamsEnv(teams) }, encoding: 'utf8', timeout: 20_000 });
    token = /^ {2}(dho_\S+)$/m.exec(created.stdout)?.[1] ?? '';
    expect(token).not.toBe('');
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await teams?.close();
  });

  const api = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${(bot as BotProcess).port}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const deploy = async (app: string) => {
    const answer = await api('POST', '/deployments', { app, ref: 'main', environment: 'staging' });
    expect(answer.status).toBe(202);
    return (answer.body.deployment as { id: number }).id;
  };
  /** Until the deployment has finished (its state read through the API). */
  const finished = async (app: string, id: number) => {
    for (;;) {
      const { body } = await api('GET', `/deployments?app=${app}`);
      const list = (Array.isArray(body) ? body : (body.deployments as unknown[])) as Array<{ id: number; state: string }>;
      const state = list.find((d) => d.id === id)?.state;
      if (state === 'succeeded' || state === 'failed' || state === 'cancelled') return state;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const log = () => (bot as BotProcess).stdout() + (bot as BotProcess).stderr();

  test('a conversation nobody has spoken in yet: one warning, the deployments still run, nothing is sent', async () => {
    const first = await deploy('web');
    const second = await deploy('web');
    expect(await finished('web', first)).toBe('succeeded');
    expect(await finished('web', second)).toBe('succeeded');
    await bot?.waitFor(unknownAddress);
    expect(log().split(unknownAddress).length - 1).toBe(1);
    expect(log()).toContain(unheard);
    expect(teams.calls.filter((c) => c.conversationId === unheard)).toEqual([]);
  });

  test('once the conversation has spoken to the bot, a deployment from the API gets its card there, updated to success', async () => {
    // The address (serviceUrl) of the channel comes from a verified activity: anyone mentioning the bot there.
    const hello = messageActivity(teams, { text: 'help', id: 'seed-1', conversationType: 'channel', conversationId: deploys, mention: true });
    expect((await postActivity(`http://127.0.0.1:${(bot as BotProcess).port}/teams/messages`, teams, hello)).status).toBe(200);
    await teams.waitForCall((c) => c.kind === 'reply' && c.activityId === 'seed-1');

    const id = await deploy('hello');
    // A new message in the channel (nothing to reply to: it was not asked for there), then updated in place.
    const card = await teams.waitForCall((c) => c.kind === 'send' && c.conversationId === deploys && String(c.body.text).startsWith(`Deployment #${id} `));
    expect(card.body.attachments).toEqual([expect.objectContaining({ contentType: 'application/vnd.microsoft.card.adaptive' })]);
    const succeeded = await teams.waitForCall((c) => c.kind === 'update' && c.activityId === card.responseId && String(c.body.text) === `Deployment #${id} hello/main to staging: succeeded`, 20_000);
    expect(succeeded.conversationId).toBe(deploys);
    // The reaction's chat step, sent to the conversation it names.
    const line = await teams.waitForCall((c) => c.kind === 'send' && c.body.text === `hello #${id} is live`, 20_000);
    expect(line.conversationId).toBe(deploys);
    // The script's output, in the card's reply chain: after the final card update, in one code block (the run is shorter than the 2 s batch).
    const output = await teams.waitForCall((c) => c.kind === 'reply' && c.activityId === card.responseId, 20_000);
    expect(output.conversationId).toBe(deploys);
    expect(output.body).toMatchObject({ type: 'message', textFormat: 'markdown' });
    expect({ text: String(output.body.text) }).toEqual({ text: expect.stringMatching(/^```\nDeploying hello@main to staging \(deployment #\d+, requested by token:ci\)\n[^`]*Writing release marker [^\n]+\nRecording the release in [^\n]+\nDone\.\n```$/) });
    expect(teams.calls.indexOf(output)).toBeGreaterThan(teams.calls.indexOf(succeeded));
    // One card per deployment: every later change is an update of it.
    expect(teams.calls.filter((c) => c.kind === 'send' && String(c.body.text).startsWith(`Deployment #${id} `))).toHaveLength(1);
  });
});
