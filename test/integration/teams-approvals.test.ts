import { cardActionActivity, messageActivity, startFakeTeams, type ConnectorCall, type FakeTeams } from '../fakes/teams/fake-teams.js';
import { postActivity, teamsConfigDir, teamsEnv } from '../fakes/teams/teams-bot.js';
import { startBot, type BotProcess } from './bot-process.js';

interface InvokeAnswer {
  statusCode: number;
  type: string;
  value: Record<string, unknown>;
}

const cardOf = (call: ConnectorCall): string => JSON.stringify(call.body.attachments);

/**
 * Approve / Deny on Teams: Action.Execute buttons on the deployment's card, `adaptiveCard/action`
 * invokes from the (real, signed) channel, decided through the action layer as teams:<aadObjectId>.
 */
describe('Teams approvals (Universal Actions)', () => {
  let teams: FakeTeams;
  let bot: BotProcess;
  let endpoint: string;
  const conversationId = '19:approvals@thread.tacv2';

  beforeAll(async () => {
    teams = await startFakeTeams();
    bot = await startBot({ cwd: teamsConfigDir(), env: teamsEnv(teams) });
    await bot.waitFor('Deckhand on Microsoft Teams');
    endpoint = `http://127.0.0.1:${bot.port}/teams/messages`;
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await teams?.close();
  });

  /** Alice asks for a production deployment in the channel; resolves its id and its card's activity id. */
  async function askForProduction(askId: string): Promise<{ id: number; cardId: string }> {
    const ask = messageActivity(teams, { text: 'deploy hello to production', id: askId, conversationType: 'channel', conversationId, mention: true });
    expect((await postActivity(endpoint, teams, ask)).status).toBe(200);
    const card = await teams.waitForCall((c) => c.kind === 'reply' && c.activityId === askId && Array.isArray(c.body.attachments));
    const id = Number(/Deployment #(\d+)/.exec(String(card.body.text))?.[1]);
    // The card gets its Approve / Deny buttons once the approval request is recorded.
    await teams.waitForCall((c) => (c.activityId === card.responseId || c === card) && cardOf(c).includes('Action.Execute'));
    return { id, cardId: card.responseId as string };
  }

  const click = async (verb: string, deploymentId: unknown, cardId: string, who: { aadObjectId: string; userName: string }, id?: string) => {
    const answer = await postActivity(endpoint, teams, cardActionActivity(teams, { verb, data: { deploymentId }, replyToId: cardId, conversationId, ...who, ...(id ? { id } : {}) }));
    expect(answer.status).toBe(200);
    return answer.body as InvokeAnswer;
  };
  const carol = { aadObjectId: 'aad-carol', userName: 'Carol' };
  const bob = { aadObjectId: 'aad-bob', userName: 'Bob' };

  test('the card of a deployment waiting for approval has Approve / Deny Action.Execute buttons with the deployment id', async () => {
    const { id, cardId } = await askForProduction('ask-buttons');
    const withButtons = teams.calls.find((c) => (c.responseId === cardId || c.activityId === cardId) && cardOf(c).includes('Action.Execute')) as ConnectorCall;
    const card = (withButtons.body.attachments as Array<{ content: { version: string; actions: unknown[]; body: unknown[] } }>)[0]!.content;
    expect(card.actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Action.Execute', title: 'Approve', verb: 'approve', data: { deploymentId: id } }),
        expect.objectContaining({ type: 'Action.Execute', title: 'Deny', verb: 'deny', data: { deploymentId: id } }),
      ]),
    );
    expect(Number(card.version)).toBeGreaterThanOrEqual(1.4);
    expect(JSON.stringify(card.body)).toContain('Approval needed. Approvers: teams:aad-carol.');
  });

  test('a non-approver is refused on their own card; an approver\'s click (sent twice) approves once, and everyone\'s card shows it until the deployment succeeds', async () => {
    const { id, cardId } = await askForProduction('ask-approve');

    const refused = await click('approve', id, cardId, bob);
    expect(refused).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    const refusedCard = JSON.stringify(refused.value);
    expect(refusedCard).toContain("You (teams:aad-bob) can't approve deployments to production. Approvers: teams:aad-carol.");
    expect(refusedCard).toContain('"verb":"approve"'); // still waiting: the buttons stay

    // Teams re-sends an invoke it got no answer for: the same activity id, twice at once.
    const [first, second] = await Promise.all([click('approve', id, cardId, carol, 'invoke-carol-1'), click('approve', id, cardId, carol, 'invoke-carol-1')]);
    for (const answer of [first, second]) {
      expect(answer).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
      expect(JSON.stringify(answer.value)).not.toContain('already');
      expect(JSON.stringify(answer.value)).not.toContain('⚠️');
    }
    expect(JSON.stringify([first.value, second.value])).toContain('Approved by teams:aad-carol');

    // Everyone else: the card is updated in place, without buttons, and runs to success.
    const approved = await teams.waitForCall((c) => c.kind === 'update' && c.activityId === cardId && cardOf(c).includes('Approved by teams:aad-carol'));
    expect(cardOf(approved)).not.toContain('Action.Execute');
    const done = await teams.waitForCall((c) => c.kind === 'update' && c.activityId === cardId && /: succeeded$/.test(String(c.body.text)), 20_000);
    expect(cardOf(done)).toContain('Approved by teams:aad-carol');

    // A later click on the old card changes nothing and says why.
    const late = await click('deny', id, cardId, carol);
    expect(JSON.stringify(late.value)).toContain(`#${id} hello/main to production was already approved by teams:aad-carol.`);
  });

  test('Deny by an approver cancels the deployment, shown on the card', async () => {
    const { id, cardId } = await askForProduction('ask-deny');
    const denied = await click('deny', id, cardId, carol);
    expect(JSON.stringify(denied.value)).toContain('Denied by teams:aad-carol');
    const cancelled = await teams.waitForCall((c) => c.kind === 'update' && c.activityId === cardId && /: cancelled$/.test(String(c.body.text)));
    expect(cardOf(cancelled)).toContain('approval denied by teams:aad-carol');
  });

  test('a card action that is not one of Deckhand\'s buttons gets the invoke error shape, never a 5xx', async () => {
    const bad = await postActivity(endpoint, teams, cardActionActivity(teams, { verb: 'launch-missiles', data: { deploymentId: 1 }, replyToId: 'x' }));
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest' } });
    const noId = await postActivity(endpoint, teams, cardActionActivity(teams, { verb: 'approve', data: { deploymentId: 'x' }, replyToId: 'x' }));
    expect(noId.body).toMatchObject({ statusCode: 400 });
    const missing = await postActivity(endpoint, teams, cardActionActivity(teams, { verb: 'approve', data: { deploymentId: 99999 }, replyToId: 'x', ...carol }));
    expect(missing.body).toMatchObject({ statusCode: 400, value: { message: 'Deployment #99999 is not waiting for an approval.' } });
    // No Entra object id: refused, with the error type's statusCode (400 or 500 only), its code saying why.
    const anonymous = { ...cardActionActivity(teams, { verb: 'approve', data: { deploymentId: 1 }, replyToId: 'x' }), from: { id: '29:1anonymous', name: 'Anonymous' } };
    const noClicker = await postActivity(endpoint, teams, anonymous);
    expect(noClicker.status).toBe(200);
    expect(noClicker.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'Forbidden' } });
    expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status).toBe(200);
  });
});
