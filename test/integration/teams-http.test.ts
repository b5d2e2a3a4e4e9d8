import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { postToBolt, urlVerificationRequest } from '../fakes/slack/signed-request.js';
import { messageActivity, startFakeTeams, type FakeTeams } from '../fakes/teams/fake-teams.js';
import { postActivity, teamsConfigDir, teamsEnv } from '../fakes/teams/teams-bot.js';
import { startBot, type BotProcess } from './bot-process.js';

/** The status of a signed POST of an activity (see postActivity). */
const post = async (...args: Parameters<typeof postActivity>): Promise<number> => (await postActivity(...args)).status;

describe('Microsoft Teams: the real bot process, signed activities from a local OpenID configuration, a fake Bot Connector', () => {
  let teams: FakeTeams;
  let bot: BotProcess;
  let endpoint: string;

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

  test('refuses unsigned, expired, not-yet-valid, wrong-audience, wrong-issuer and wrong-key activities (401), and a serviceUrl the token does not name', async () => {
    const activity = messageActivity(teams, { text: 'whoami', id: 'refused-1' });
    expect(await post(endpoint, teams, activity, null)).toBe(401);
    expect(await post(endpoint, teams, activity, { expiresIn: -600 })).toBe(401);
    expect(await post(endpoint, teams, activity, { notBefore: 900 })).toBe(401);
    expect(await post(endpoint, teams, activity, { audience: 'some-other-bot' })).toBe(401);
    expect(await post(endpoint, teams, activity, { issuer: 'https://sts.windows.net/evil/' })).toBe(401);
    expect(await post(endpoint, teams, activity, { foreignKey: true })).toBe(401);
    // Signed by a Bot Framework key, but one endorsed for another channel (webchat), not msteams.
    expect(await post(endpoint, teams, activity, { otherChannelKey: true })).toBe(401);
    // The Teams key, for an activity that says it comes from another channel.
    expect(await post(endpoint, teams, { ...activity, channelId: 'webchat' })).toBe(401);
    // Signed for the real connector, but the activity asks Deckhand to send its token somewhere else.
    const elsewhere = messageActivity(teams, { text: 'whoami', id: 'refused-2', serviceUrl: 'http://127.0.0.1:9/evil/' });
    expect(await post(endpoint, teams, elsewhere)).toBe(401);
    // Bearer scheme but not a JWT.
    const garbage = await fetch(endpoint, { method: 'POST', headers: { authorization: 'Bearer not.a.jwt', 'content-type': 'application/json' }, body: JSON.stringify(activity) });
    expect(garbage.status).toBe(401);
    expect(teams.calls).toHaveLength(0);
  });

  test('malformed bodies get 400, never 5xx; another tenant gets 403; the process stays healthy', async () => {
    expect(await post(endpoint, teams, null, {}, '{"type": "message", ')).toBe(400);
    expect(await post(endpoint, teams, null, {}, 'null')).toBe(400);
    expect(await post(endpoint, teams, null, {}, '[1,2]')).toBe(400);
    expect(await post(endpoint, teams, { type: 42 })).toBe(400);
    expect(await post(endpoint, teams, { ...messageActivity(teams, { text: 'whoami' }), from: 'alice' })).toBe(400);
    expect(await post(endpoint, teams, { ...messageActivity(teams, { text: 'whoami' }), conversation: { id: 'x', tenantId: 'another-tenant' } })).toBe(403);
    expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status).toBe(200);
    expect(teams.calls).toHaveLength(0);
  });

  test('a personal chat reaches the dispatcher as teams:<aadObjectId>, and the answer is a reply through the connector with the authority\'s token', async () => {
    const activity = messageActivity(teams, { text: 'whoami', id: 'whoami-1', conversationId: 'a:1personal-alice' });
    expect(await post(endpoint, teams, activity)).toBe(200);
    const reply = await teams.waitForCall((c) => c.activityId === 'whoami-1');
    expect(reply).toMatchObject({ kind: 'reply', conversationId: 'a:1personal-alice', status: 201 });
    expect(reply.body).toMatchObject({ type: 'message', replyToId: 'whoami-1' });
    expect(String(reply.body.text)).toMatch(/^You are teams:aad-alice\. Roles: deployers\./);
    expect(teams.tokenRequests[0]).toMatchObject({ grant_type: 'client_credentials', client_id: teams.appId, scope: 'https://api.botframework.com/.default' });
  });

  test('"@Deckhand deploy hello to staging" in a channel deploys and is answered in the channel\'s thread; chatter without a mention is ignored', async () => {
    const chatter = messageActivity(teams, { text: 'deploy hello to staging', id: 'chatter-1', conversationType: 'channel' });
    expect(await post(endpoint, teams, chatter)).toBe(200);
    const activity = messageActivity(teams, { text: 'deploy hello to staging', id: 'deploy-1', conversationType: 'channel', mention: true });
    expect(await post(endpoint, teams, activity)).toBe(200);
    const reply = await teams.waitForCall((c) => c.activityId === 'deploy-1' && c.body.attachments === undefined);
    expect(reply.conversationId).toBe('19:deploys@thread.tacv2');
    expect(reply.body.text).toMatch(/^Deployment #\d+ hello\/main to staging queued\.$/);
    expect(teams.calls.some((c) => c.activityId === 'chatter-1')).toBe(false);

    // One Adaptive Card in the request's thread, updated in place until it shows success.
    const card = await teams.waitForCall((c) => c.kind === 'reply' && c.activityId === 'deploy-1' && Array.isArray(c.body.attachments));
    expect(card.status).toBe(201);
    const succeeded = await teams.waitForCall((c) => c.kind === 'update' && c.activityId === card.responseId && /: succeeded$/.test(String(c.body.text)), 20_000);
    expect(succeeded.conversationId).toBe('19:deploys@thread.tacv2');
    const content = JSON.stringify(succeeded.body.attachments);
    expect(content).toContain('application/vnd.microsoft.card.adaptive');
    expect(content).toMatch(/Deployment #\d+ hello\/main to staging — succeeded in \d/);
    expect(content).toContain('"title":"Requested by","value":"teams:aad-alice"');
    expect(content).toMatch(new RegExp(`"type":"Action.OpenUrl","title":"Full log","url":"http://localhost:${bot.port}/deployments/\\d+/log\\?token=`));
    const cards = teams.calls.filter((c) => Array.isArray(c.body.attachments) && c.kind !== 'update');
    expect(cards).toHaveLength(1);
  });

  test('Teams\' retries of the same activity id run the command once', async () => {
    const activity = messageActivity(teams, { text: 'lock production because retry test', id: 'retry-1', conversationId: 'a:1personal-retry' });
    const statuses = await Promise.all([post(endpoint, teams, activity), post(endpoint, teams, activity)]);
    expect(statuses).toEqual([200, 200]);
    expect(await post(endpoint, teams, activity)).toBe(200);
    // A later message in the same conversation is answered after anything the retries could have set off.
    await teams.waitForCall((c) => c.activityId === 'retry-1');
    expect(await post(endpoint, teams, messageActivity(teams, { text: 'locks', id: 'retry-after', conversationId: 'a:1personal-retry' }))).toBe(200);
    const after = await teams.waitForCall((c) => c.activityId === 'retry-after');
    expect(String(after.body.text)).toContain('production');
    expect(teams.calls.filter((c) => c.activityId === 'retry-1')).toHaveLength(1);
  });

  test('a 429 from the connector is retried after its Retry-After, and the conversation keeps its order; a 5xx is retried too', async () => {
    const conversationId = 'a:1personal-limited';
    teams.failNext(1, 429, 1);
    expect(await post(endpoint, teams, messageActivity(teams, { text: 'whoami', id: 'limited-a', conversationId }))).toBe(200);
    const limited = await teams.waitForCall((c) => c.activityId === 'limited-a' && c.status === 429);
    // B arrives while A waits for its Retry-After: B's answer must not pass A's.
    expect(await post(endpoint, teams, messageActivity(teams, { text: 'help', id: 'limited-b', conversationId }))).toBe(200);
    const retried = await teams.waitForCall((c) => c.activityId === 'limited-a' && c.status === 201);
    const b = await teams.waitForCall((c) => c.activityId === 'limited-b' && c.status === 201);
    expect(retried.receivedAt - limited.receivedAt).toBeGreaterThanOrEqual(950);
    const inConversation = teams.calls.filter((c) => c.conversationId === conversationId).map((c) => [c.activityId, c.status]);
    expect(inConversation).toEqual([['limited-a', 429], ['limited-a', 201], ['limited-b', 201]]);
    expect(b.receivedAt).toBeGreaterThanOrEqual(retried.receivedAt);

    teams.failNext(1, 502);
    expect(await post(endpoint, teams, messageActivity(teams, { text: 'whoami', id: 'flaky-1', conversationId }))).toBe(200);
    await teams.waitForCall((c) => c.activityId === 'flaky-1' && c.status === 201);
    expect(teams.calls.filter((c) => c.activityId === 'flaky-1').map((c) => c.status)).toEqual([502, 201]);
    // Every call of this suite went out on one token from the authority (cached until it expires).
    expect(teams.tokenRequests).toHaveLength(1);
    expect(new Set(teams.calls.map((c) => c.authorization)).size).toBe(1);
  });
});

describe('Slack and Teams in one process', () => {
  let teams: FakeTeams;
  let slack: FakeSlack;
  let bot: BotProcess;
  const secret = 'test-signing-secret-0123456789';

  beforeAll(async () => {
    teams = await startFakeTeams();
    slack = await startFakeSlack();
    bot = await startBot({ cwd: teamsConfigDir(), env: { ...teamsEnv(teams), SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl } });
    await bot.waitFor('Deckhand on Microsoft Teams');
    await bot.waitFor('Deckhand on Slack (HTTP mode');
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await teams?.close();
    await slack?.close();
  });

  test('each platform answers on its own route', async () => {
    const verification = await postToBolt(`http://127.0.0.1:${bot.port}/slack/events`, secret, urlVerificationRequest('both-adapters'));
    expect(verification.status).toBe(200);
    expect(verification.text).toContain('both-adapters');
    const teamsEndpoint = `http://127.0.0.1:${bot.port}/teams/messages`;
    expect(await post(teamsEndpoint, teams, messageActivity(teams, { text: 'whoami', id: 'both-1' }))).toBe(200);
    const reply = await teams.waitForCall((c) => c.activityId === 'both-1');
    expect(String(reply.body.text)).toMatch(/^You are teams:aad-alice\./);
    // A Slack-signed request is not a Teams activity, and the other way round.
    expect(await post(teamsEndpoint, teams, messageActivity(teams, { text: 'whoami' }), null)).toBe(401);
    expect((await postToBolt(`http://127.0.0.1:${bot.port}/slack/events`, 'wrong-secret-wrong-secret', urlVerificationRequest())).status).toBe(401);
  });
});
