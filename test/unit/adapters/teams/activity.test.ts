import { activitySchema, sameServiceUrl, toChatMessage } from '../../../../adapters/teams/activity.js';
import { loadEnv } from '../../../../src/config/env.js';

const bot = '28:00000000-0000-4000-8000-00000000b07a';
const activity = (overrides: Record<string, unknown> = {}) =>
  activitySchema.parse({
    type: 'message',
    id: '1700000000001',
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    channelId: 'msteams',
    from: { id: '29:1abc', name: 'Alice', aadObjectId: 'aad-alice' },
    conversation: { id: '19:deploys@thread.tacv2;messageid=1700000000000', conversationType: 'channel', tenantId: 't1' },
    recipient: { id: bot, name: 'Deckhand' },
    text: '<at>Deckhand</at> deploy api to prod',
    entities: [{ type: 'mention', text: '<at>Deckhand</at>', mentioned: { id: bot, name: 'Deckhand' } }],
    ...overrides,
  });

describe('Teams activities as chat messages', () => {
  test('a leading mention of the bot addresses it and is stripped; the user is teams:<aadObjectId>', () => {
    expect(toChatMessage(activity())).toEqual({
      id: '1700000000001',
      user: 'teams:aad-alice',
      userName: 'Alice',
      room: '19:deploys@thread.tacv2;messageid=1700000000000',
      text: 'deploy api to prod',
      isDirect: true,
      adapter: 'teams',
    });
  });

  test('a mention of someone else, or of the bot mid-sentence, does not address the bot', () => {
    const other = activity({ text: '<at>Bob</at> deploy api', entities: [{ type: 'mention', text: '<at>Bob</at>', mentioned: { id: '29:1bob' } }] });
    expect(toChatMessage(other)).toMatchObject({ text: '<at>Bob</at> deploy api', isDirect: false });
    const midSentence = activity({ text: 'ask <at>Deckhand</at>&nbsp;later' });
    expect(toChatMessage(midSentence)).toMatchObject({ text: 'ask later', isDirect: false });
  });

  test('every message in a personal chat is addressed', () => {
    expect(toChatMessage(activity({ text: 'whoami', entities: [], conversation: { id: 'a:1xyz', conversationType: 'personal' } }))).toMatchObject({ text: 'whoami', isDirect: true, room: 'a:1xyz' });
  });

  test('not a person\'s message: no chat message', () => {
    expect(toChatMessage(activity({ type: 'conversationUpdate' }))).toBeNull();
    expect(toChatMessage(activity({ from: { id: '28:other-bot' } }))).toBeNull();
    expect(toChatMessage(activity({ text: undefined }))).toBeNull();
  });

  test('malformed activities do not parse', () => {
    expect(activitySchema.safeParse(null).success).toBe(false);
    expect(activitySchema.safeParse({ type: 'message', from: 'alice' }).success).toBe(false);
    expect(activitySchema.safeParse({ type: 'message', entities: 'x' }).success).toBe(false);
  });

  test('service URLs compare without the trailing slash and with the host in any case', () => {
    expect(sameServiceUrl('https://smba.trafficmanager.net/emea/', 'https://SMBA.trafficmanager.net/emea')).toBe(true);
    expect(sameServiceUrl('https://smba.trafficmanager.net/emea/', 'https://smba.trafficmanager.net/amer/')).toBe(false);
    expect(sameServiceUrl('https://smba.trafficmanager.net/emea/', 'https://evil.example/emea/')).toBe(false);
    expect(sameServiceUrl('not a url', 'not a url')).toBe(false);
  });
});

describe('Teams environment variables', () => {
  test('all three or none, and the password is never echoed', () => {
    expect(() => loadEnv({ TEAMS_APP_ID: 'id', TEAMS_APP_PASSWORD: 'p4ss-w0rd-secret' })).toThrow(/TEAMS_TENANT_ID=undefined: Microsoft Teams needs all three/);
    expect(() => loadEnv({ TEAMS_TENANT_ID: 't', TEAMS_APP_ID: 'id' })).toThrow(/TEAMS_APP_PASSWORD=\(not set\)/);
    const env = loadEnv({ TEAMS_APP_ID: 'id', TEAMS_APP_PASSWORD: 'p', TEAMS_TENANT_ID: 't' });
    expect(env.TEAMS_OPENID_METADATA_URL).toBe('https://login.botframework.com/v1/.well-known/openidconfiguration');
    expect(env.TEAMS_AUTHORITY_URL).toBe('https://login.microsoftonline.com');
  });
});
