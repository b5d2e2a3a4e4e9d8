import { createRemoteJWKSet, jwtVerify } from 'jose';
import { botFrameworkIssuer, startFakeTeams, type FakeTeams } from './fake-teams.js';

describe('the fake Teams services (OpenID keys, token authority, Bot Connector)', () => {
  let fake: FakeTeams;
  beforeAll(async () => {
    fake = await startFakeTeams();
  });
  afterAll(() => fake.close());

  const token = async (): Promise<string> => {
    const response = await fetch(`${fake.authorityUrl}/${fake.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: fake.appId, client_secret: fake.appPassword, scope: 'https://api.botframework.com/.default' }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };

  test('its OpenID configuration points at keys that verify what it mints, and only that', async () => {
    const metadata = (await (await fetch(fake.openIdMetadataUrl)).json()) as { issuer: string; jwks_uri: string };
    expect(metadata.issuer).toBe(botFrameworkIssuer);
    const keys = createRemoteJWKSet(new URL(metadata.jwks_uri));
    const { payload } = await jwtVerify(await fake.mint(), keys, { issuer: botFrameworkIssuer, audience: fake.appId });
    expect(payload.serviceurl).toBe(fake.serviceUrl);
    await expect(jwtVerify(await fake.mint({ foreignKey: true }), keys)).rejects.toThrow();
    await expect(jwtVerify(await fake.mint({ expiresIn: -600 }), keys)).rejects.toThrow();
    // Each key names the channels it signs for; the second one's token verifies, but for webchat only.
    const jwks = (await (await fetch(metadata.jwks_uri)).json()) as { keys: Array<{ kid: string; endorsements: string[] }> };
    expect(jwks.keys.map((k) => [k.kid, k.endorsements])).toEqual([['fake-teams-key-1', ['msteams']], ['fake-webchat-key-1', ['webchat']]]);
    const other = await jwtVerify(await fake.mint({ otherChannelKey: true }), keys, { issuer: botFrameworkIssuer, audience: fake.appId });
    expect(other.protectedHeader.kid).toBe('fake-webchat-key-1');
  });

  test('the authority hands out tokens for the right client only', async () => {
    expect(await token()).toMatch(/^fake-access-/);
    const bad = await fetch(`${fake.authorityUrl}/${fake.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: fake.appId, client_secret: 'wrong', scope: 'https://api.botframework.com/.default' }),
    });
    expect(bad.status).toBe(401);
  });

  test('the connector checks the bearer token, records calls, and answers injected faults', async () => {
    const conversation = encodeURIComponent('19:abc@thread.tacv2;messageid=42');
    const send = (auth: string, path = '', method = 'POST') =>
      fetch(`${fake.serviceUrl}v3/conversations/${conversation}/activities${path}`, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message', text: 'hi' }) });
    expect((await send('Bearer not-issued')).status).toBe(401);
    const bearer = `Bearer ${await token()}`;
    const sent = await send(bearer);
    expect(sent.status).toBe(201);
    const { id } = (await sent.json()) as { id: string };
    expect((await send(bearer, `/${id}`)).status).toBe(201);
    expect((await send(bearer, `/${id}`, 'PUT')).status).toBe(200);
    fake.failNext(1, 429, 2);
    const limited = await send(bearer);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    fake.failNext(1, 503);
    expect((await send(bearer)).status).toBe(503);
    expect(fake.calls.map((c) => [c.kind, c.status])).toEqual([['send', 401], ['send', 201], ['reply', 201], ['update', 200], ['send', 429], ['send', 503]]);
    expect(fake.calls[2]?.conversationId).toBe('19:abc@thread.tacv2;messageid=42');
    expect(fake.calls[2]?.activityId).toBe(id);
  });
});
