import { messageActivity, startFakeTeams, type FakeTeams } from '../fakes/teams/fake-teams.js';
import { postActivity, teamsConfigDir, teamsEnv } from '../fakes/teams/teams-bot.js';
import { makeTestCertificate, writeTestFile, type TestCertificate } from '../fakes/teams/test-certificate.js';
import { startBot, type BotProcess } from './bot-process.js';

/** The bot's Teams environment without the client secret (the credential is added per test). */
const withoutSecret = (teams: FakeTeams): Record<string, string> => Object.fromEntries(Object.entries(teamsEnv(teams)).filter(([name]) => name !== 'TEAMS_APP_PASSWORD'));

const stopBot = async (bot: BotProcess | undefined) => {
  bot?.child.kill('SIGTERM');
  await bot?.exited;
};

/** Asks the bot "whoami" in a conversation of its own and resolves the connector call that answered (or the failure seen). */
async function whoami(bot: BotProcess, teams: FakeTeams, id: string): Promise<void> {
  const { status } = await postActivity(`http://127.0.0.1:${bot.port}/teams/messages`, teams, messageActivity(teams, { text: 'whoami', id, conversationId: `a:1${id}` }));
  expect(status).toBe(200);
}

describe('Microsoft Teams with a certificate (client assertion), the real bot process', () => {
  let teams: FakeTeams;
  let cert: TestCertificate;
  let bot: BotProcess;

  beforeAll(async () => {
    teams = await startFakeTeams();
    cert = makeTestCertificate();
    // Not registered on the app yet: the first test is the refusal.
    bot = await startBot({ cwd: teamsConfigDir(), env: { ...withoutSecret(teams), TEAMS_CERTIFICATE_PATH: cert.bundlePath } });
    await bot.waitFor('Deckhand on Microsoft Teams');
  });

  afterAll(async () => {
    await stopBot(bot);
    await teams?.close();
  });

  test('a certificate the app does not know is refused by the authority; Deckhand logs why, naming the variable, without the assertion or the key', async () => {
    await whoami(bot, teams, 'unregistered-1');
    await bot.waitFor(/AADSTS700027: The certificate with identifier used to sign the client assertion is not registered/);
    expect(teams.tokenAnswers).toEqual([{ status: 401, description: 'AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.' }]);
    expect(bot.stderr()).toContain('the token authority refused TEAMS_APP_ID / TEAMS_CERTIFICATE_PATH / TEAMS_TENANT_ID');
    const assertion = teams.tokenRequests[0]?.client_assertion ?? '';
    expect(assertion.split('.')).toHaveLength(3);
    const logs = bot.stdout() + bot.stderr();
    expect(logs).not.toContain(assertion.split('.')[2] ?? 'no signature');
    expect(logs).not.toContain(cert.keyPem.split('\n')[1] ?? 'no key');
    expect(teams.calls).toHaveLength(0);
  });

  test('an assertion past its exp (the authority\'s clock is 15 minutes ahead) is refused: AADSTS700024 in the log', async () => {
    teams.registerCertificate(cert.certPem);
    teams.authorityClockSkewSeconds = 15 * 60;
    try {
      await whoami(bot, teams, 'expired-1');
      await bot.waitFor(/AADSTS700024: Client assertion is not within its valid time range/);
    } finally {
      teams.authorityClockSkewSeconds = 0;
    }
    expect(teams.tokenAnswers.at(-1)?.status).toBe(401);
    expect(teams.calls).toHaveLength(0);
  });

  test('with the certificate registered, the answer goes out on a token the authority issued for the assertion; no secret is ever sent', async () => {
    await whoami(bot, teams, 'cert-ok-1');
    const reply = await teams.waitForCall((c) => c.activityId === 'cert-ok-1');
    // The fake's connector takes only tokens its authority issued (401 otherwise).
    expect(reply.status).toBe(201);
    expect(String(reply.body.text)).toMatch(/^You are teams:aad-alice\./);
    expect(teams.tokenAnswers.at(-1)).toEqual({ status: 200 });
    expect(teams.tokenRequests.every((form) => form.client_secret === undefined && form.client_assertion_type === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')).toBe(true);
    // The test certificate is valid for two days: said at start, to be renewed in time.
    expect(bot.stderr()).toMatch(/the Teams certificate \(TEAMS_CERTIFICATE_PATH\) expires on \d{4}-\d\d-\d\dT[\d:.]+Z, in [12] days?: upload a new one/);
    // Cached: a second answer needs no new token.
    const before = teams.tokenRequests.length;
    await whoami(bot, teams, 'cert-ok-2');
    expect((await teams.waitForCall((c) => c.activityId === 'cert-ok-2')).status).toBe(201);
    expect(teams.tokenRequests).toHaveLength(before);
  });
});

describe('Microsoft Teams with a user-assigned managed identity, the real bot process', () => {
  let teams: FakeTeams;
  let appService: BotProcess;
  let imds: BotProcess;

  beforeAll(async () => {
    teams = await startFakeTeams();
    [appService, imds] = await Promise.all([
      startBot({ cwd: teamsConfigDir(), env: { ...withoutSecret(teams), TEAMS_MANAGED_IDENTITY: 'true', IDENTITY_ENDPOINT: teams.appServiceIdentityUrl, IDENTITY_HEADER: teams.identityHeader } }),
      startBot({ cwd: teamsConfigDir(), env: { ...withoutSecret(teams), TEAMS_MANAGED_IDENTITY: 'true', TEAMS_IMDS_URL: teams.imdsUrl } }),
    ]);
    await Promise.all([appService.waitFor('Deckhand on Microsoft Teams'), imds.waitFor('Deckhand on Microsoft Teams')]);
  });

  afterAll(async () => {
    await Promise.all([stopBot(appService), stopBot(imds)]);
    await teams?.close();
  });

  test('App Service: the token from IDENTITY_ENDPOINT with X-IDENTITY-HEADER carries the answer; the authority is never asked', async () => {
    await whoami(appService, teams, 'msi-app-service-1');
    expect((await teams.waitForCall((c) => c.activityId === 'msi-app-service-1')).status).toBe(201);
    expect(teams.identityRequests.filter((r) => r.style === 'app-service')).toEqual([
      { style: 'app-service', query: { 'api-version': '2019-08-01', resource: 'https://api.botframework.com', client_id: teams.appId }, identityHeader: teams.identityHeader, status: 200 },
    ]);
    expect(teams.tokenRequests).toHaveLength(0);
    expect(appService.stdout() + appService.stderr()).not.toContain(teams.identityHeader);
  });

  test('IMDS: the token from TEAMS_IMDS_URL with Metadata: true carries the answer', async () => {
    await whoami(imds, teams, 'msi-imds-1');
    expect((await teams.waitForCall((c) => c.activityId === 'msi-imds-1')).status).toBe(201);
    expect(teams.identityRequests.filter((r) => r.style === 'imds')).toEqual([
      { style: 'imds', query: { 'api-version': '2018-02-01', resource: 'https://api.botframework.com', client_id: teams.appId }, metadata: 'true', status: 200 },
    ]);
    expect(teams.tokenRequests).toHaveLength(0);
  });
});

describe('Microsoft Teams credential mistakes stop the start (exit 1) with a message naming the variable', () => {
  let cert: TestCertificate;
  const base = { TEAMS_APP_ID: '00000000-0000-4000-8000-00000000b07a', TEAMS_TENANT_ID: '11111111-1111-4111-8111-111111111111', LOG_LEVEL: 'warn' };

  beforeAll(() => {
    cert = makeTestCertificate();
  });

  const failedStart = async (env: Record<string, string>): Promise<string> => {
    const bot = await startBot({ cwd: teamsConfigDir(), env: { ...base, ...env } });
    expect(await bot.exited).toBe(1);
    return bot.stderr();
  };

  test('two credentials, an unreadable PEM, a certificate without its key', async () => {
    const [two, missing, certOnly, msiAndCert] = await Promise.all([
      failedStart({ TEAMS_APP_PASSWORD: 'the-client-secret-value', TEAMS_CERTIFICATE_PATH: cert.bundlePath }),
      failedStart({ TEAMS_CERTIFICATE_PATH: `${cert.dir}/nowhere.pem` }),
      failedStart({ TEAMS_CERTIFICATE_PATH: writeTestFile(cert, 'cert-only.pem', cert.certPem) }),
      failedStart({ TEAMS_MANAGED_IDENTITY: 'true', TEAMS_CERTIFICATE_PATH: cert.bundlePath }),
    ]);
    expect(two).toMatch(/TEAMS_CERTIFICATE_PATH=".*": set one Teams credential, not TEAMS_APP_PASSWORD and TEAMS_CERTIFICATE_PATH/);
    expect(two).not.toContain('the-client-secret-value');
    expect(missing).toMatch(/^deckhand: TEAMS_CERTIFICATE_PATH: cannot read .*nowhere\.pem \(ENOENT\)/m);
    expect(certOnly).toMatch(/^deckhand: TEAMS_CERTIFICATE_PATH: .*cert-only\.pem holds no private key/m);
    expect(msiAndCert).toMatch(/set one Teams credential, not TEAMS_CERTIFICATE_PATH and TEAMS_MANAGED_IDENTITY/);
  });
});
