import { messageActivity, startFakeTeams, type FakeTeams } from '../fakes/teams/fake-teams.js';
import { postActivity, teamsConfigDir, teamsEnv } from '../fakes/teams/teams-bot.js';
import { startBot, type BotProcess } from './bot-process.js';

/**
 * A Teams conversation's address (the serviceUrl its verified token named) is in the store: a
 * process that never heard from a conversation — here the one started after a restart — still
 * updates the deployment card there.
 */
describe('Teams conversation addresses survive a restart', () => {
  let teams: FakeTeams;
  let bot: BotProcess | undefined;
  const cwd = teamsConfigDir();

  beforeAll(async () => {
    teams = await startFakeTeams();
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await teams?.close();
  });

  const start = async () => {
    const started = await startBot({ cwd, env: teamsEnv(teams) });
    await started.waitFor('Deckhand on Microsoft Teams');
    return { started, endpoint: `http://127.0.0.1:${started.port}/teams/messages` };
  };

  test('the card of a deployment asked for before a restart is updated by the new process, which never heard from that channel', async () => {
    const first = await start();
    bot = first.started;
    const ask = messageActivity(teams, { text: 'deploy hello to production', id: 'prod-ask-1', conversationType: 'channel', conversationId: '19:releases@thread.tacv2', mention: true });
    expect((await postActivity(first.endpoint, teams, ask)).status).toBe(200);
    const card = await teams.waitForCall((c) => c.kind === 'reply' && c.activityId === 'prod-ask-1' && Array.isArray(c.body.attachments));
    const id = Number(/Deployment #(\d+)/.exec(String(card.body.text))?.[1]);
    expect(id).toBeGreaterThan(0);

    bot.child.kill('SIGTERM');
    await bot.exited;
    const second = await start();
    bot = second.started;

    // Carol approves in her own 1:1 chat with the new process: the channel's card is updated there.
    const approve = messageActivity(teams, { text: `approve ${id}`, id: 'carol-approve-1', conversationId: 'a:1personal-carol', aadObjectId: 'aad-carol', userName: 'Carol' });
    expect((await postActivity(second.endpoint, teams, approve)).status).toBe(200);
    const succeeded = await teams.waitForCall((c) => c.kind === 'update' && c.activityId === card.responseId && /: succeeded$/.test(String(c.body.text)), 20_000);
    expect(succeeded.conversationId).toBe('19:releases@thread.tacv2');
    expect(succeeded.status).toBe(200);
  });
});
