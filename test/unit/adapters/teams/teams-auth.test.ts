import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { TeamsAuthError, createActivityTokenVerifier, endorsesChannel } from '../../../../adapters/teams/teams-auth.js';
import { startFakeTeams, type FakeTeams } from '../../../fakes/teams/fake-teams.js';

describe('endorsesChannel: the Bot Framework SDK\'s endorsement rule', () => {
  test('a key without endorsements signs for any channel', () => {
    expect(endorsesChannel({ endorsements: [] }, 'msteams')).toBe(true);
    expect(endorsesChannel({ endorsements: [] }, undefined)).toBe(true);
  });

  test('a key with endorsements signs only for the channels it lists', () => {
    expect(endorsesChannel({ endorsements: ['msteams'] }, 'msteams')).toBe(true);
    expect(endorsesChannel({ endorsements: ['webchat', 'msteams'] }, 'msteams')).toBe(true);
    expect(endorsesChannel({ endorsements: ['webchat'] }, 'msteams')).toBe(false);
    expect(endorsesChannel({ endorsements: ['msteams'] }, 'MSTEAMS')).toBe(false);
  });

  test('an activity without a channelId is refused when the key names channels (stricter than the SDK)', () => {
    expect(endorsesChannel({ endorsements: ['msteams'] }, undefined)).toBe(false);
    expect(endorsesChannel({ endorsements: ['msteams'] }, ' ')).toBe(false);
  });
});

describe('createActivityTokenVerifier with the fake\'s endorsed keys', () => {
  let fake: FakeTeams;
  beforeAll(async () => {
    fake = await startFakeTeams();
  });
  afterAll(() => fake.close());

  test('returns the endorsements of the key that signed the token', async () => {
    const verify = createActivityTokenVerifier({ appId: fake.appId, openIdMetadataUrl: fake.openIdMetadataUrl });
    const teams = await verify(`Bearer ${await fake.mint()}`);
    expect(teams).toEqual({ serviceUrl: fake.serviceUrl, endorsements: ['msteams'] });
    expect(endorsesChannel(teams, 'msteams')).toBe(true);
    const other = await verify(`Bearer ${await fake.mint({ otherChannelKey: true })}`);
    expect(other.endorsements).toEqual(['webchat']);
    expect(endorsesChannel(other, 'msteams')).toBe(false);
  });
});

describe('createActivityTokenVerifier with keys that list no endorsements, or bad ones', () => {
  const appId = 'app-1';
  let server: Server;
  let base: string;
  const keys: Record<string, { privateKey: CryptoKey; jwk: JWK & { endorsements?: unknown } }> = {};

  beforeAll(async () => {
    for (const [kid, endorsements] of [['absent', undefined], ['empty', []], ['not-a-list', 'msteams'], ['numbers', [1, 2]]] as const) {
      const pair = await generateKeyPair('RS256');
      keys[kid] = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, use: 'sig', alg: 'RS256', ...(endorsements !== undefined ? { endorsements } : {}) } };
    }
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/openid') res.end(JSON.stringify({ issuer: 'https://api.botframework.com', jwks_uri: `${base}/keys` }));
      else res.end(JSON.stringify({ keys: Object.values(keys).map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const mint = (kid: string) =>
    new SignJWT({ serviceurl: 'https://smba.trafficmanager.net/emea/' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer('https://api.botframework.com')
      .setAudience(appId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(keys[kid]!.privateKey);

  test('absent or empty endorsements: the token verifies, for any channel', async () => {
    const verify = createActivityTokenVerifier({ appId, openIdMetadataUrl: `${base}/openid` });
    for (const kid of ['absent', 'empty']) {
      const token = await verify(`Bearer ${await mint(kid)}`);
      expect(token.endorsements).toEqual([]);
      expect(endorsesChannel(token, 'msteams')).toBe(true);
    }
  });

  test('endorsements that are not a list of strings: refused', async () => {
    const verify = createActivityTokenVerifier({ appId, openIdMetadataUrl: `${base}/openid` });
    for (const kid of ['not-a-list', 'numbers']) await expect(verify(`Bearer ${await mint(kid)}`)).rejects.toThrow(TeamsAuthError);
  });
});
