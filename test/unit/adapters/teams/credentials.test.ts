import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ConnectorError } from '../../../../adapters/teams/connector.js';
import { acquireToken, certificateExpiryNotice, clientAssertionType, teamsCredentialFromEnv, tokenSourceFor, type TeamsCredential } from '../../../../adapters/teams/credentials.js';
import { loadEnv } from '../../../../src/config/env.js';
import { startFakeTeams, type FakeTeams } from '../../../fakes/teams/fake-teams.js';
import { makeTestCertificate, writeTestFile, type TestCertificate } from '../../../fakes/teams/test-certificate.js';

const base = { TEAMS_APP_ID: 'app', TEAMS_TENANT_ID: 'tenant' };

describe('Teams credentials from the environment', () => {
  let cert: TestCertificate;
  beforeAll(() => {
    cert = makeTestCertificate();
  });

  test('exactly one of secret, certificate, managed identity; the message names the variables, never their values', () => {
    expect(() => loadEnv({ ...base, TEAMS_APP_PASSWORD: 'p4ss-w0rd-secret', TEAMS_CERTIFICATE_PATH: cert.bundlePath })).toThrow(/TEAMS_CERTIFICATE_PATH=.*set one Teams credential, not TEAMS_APP_PASSWORD and TEAMS_CERTIFICATE_PATH/);
    expect(() => loadEnv({ ...base, TEAMS_APP_PASSWORD: 'p4ss-w0rd-secret', TEAMS_MANAGED_IDENTITY: 'true' })).toThrow(/TEAMS_MANAGED_IDENTITY="true": set one Teams credential, not TEAMS_APP_PASSWORD and TEAMS_MANAGED_IDENTITY/);
    expect(() => loadEnv({ ...base, TEAMS_APP_PASSWORD: 'p4ss-w0rd-secret', TEAMS_CERTIFICATE_PATH: cert.bundlePath })).not.toThrow(/p4ss-w0rd-secret/);
    expect(() => loadEnv({ TEAMS_APP_ID: 'app', TEAMS_CERTIFICATE_PATH: cert.bundlePath })).toThrow(/TEAMS_TENANT_ID=undefined: Microsoft Teams needs all three/);
    expect(() => loadEnv({ TEAMS_TENANT_ID: 'tenant', TEAMS_MANAGED_IDENTITY: 'true' })).toThrow(/TEAMS_APP_ID=undefined/);
    expect(() => loadEnv({ ...base, TEAMS_MANAGED_IDENTITY: 'yes' })).toThrow(/TEAMS_MANAGED_IDENTITY="yes": true or false/);
    expect(() => loadEnv({ ...base, TEAMS_MANAGED_IDENTITY: 'true', IDENTITY_ENDPOINT: 'http://127.0.0.1:1/msi/token' })).toThrow(/IDENTITY_HEADER=\(not set\): the App Service managed identity endpoint needs both/);
    expect(() => loadEnv({ ...base, TEAMS_MANAGED_IDENTITY: 'true', IDENTITY_HEADER: 'very-secret-header' })).toThrow(/IDENTITY_ENDPOINT=undefined/);
    // TEAMS_MANAGED_IDENTITY=false is "not set": the secret alone is one credential.
    expect(loadEnv({ ...base, TEAMS_APP_PASSWORD: 'p', TEAMS_MANAGED_IDENTITY: 'false' }).TEAMS_MANAGED_IDENTITY).toBe(false);
  });

  test('a certificate file: the key and the certificate, x5t#S256 the SHA-256 thumbprint of its DER', () => {
    const credential = teamsCredentialFromEnv(loadEnv({ ...base, TEAMS_CERTIFICATE_PATH: cert.bundlePath }));
    expect(credential).toMatchObject({ kind: 'certificate', appId: 'app', x5tS256: cert.x5tS256 });
    // Either order in the file.
    const reversed = writeTestFile(cert, 'reversed.pem', `${cert.certPem}${cert.keyPem}`);
    expect(teamsCredentialFromEnv({ ...base, TEAMS_CERTIFICATE_PATH: reversed })).toMatchObject({ kind: 'certificate', x5tS256: cert.x5tS256 });
  });

  test('an unreadable file, a certificate without its key, a key without its certificate, a key of another certificate, an encrypted key, an EC key: each a start-up error naming TEAMS_CERTIFICATE_PATH', () => {
    const other = makeTestCertificate('another');
    const cases: Array<[string, RegExp]> = [
      [`${cert.dir}/missing.pem`, /^TEAMS_CERTIFICATE_PATH: cannot read .*missing\.pem \(ENOENT\)/],
      [writeTestFile(cert, 'cert-only.pem', cert.certPem), /^TEAMS_CERTIFICATE_PATH: .*cert-only\.pem holds no private key/],
      [writeTestFile(cert, 'key-only.pem', cert.keyPem), /^TEAMS_CERTIFICATE_PATH: .*key-only\.pem holds no certificate/],
      [writeTestFile(cert, 'mismatch.pem', `${other.keyPem}${cert.certPem}`), /^TEAMS_CERTIFICATE_PATH: the private key in .*mismatch\.pem does not belong to its certificate \(CN=deckhand-teams-test\)/],
      [writeTestFile(cert, 'encrypted.pem', `-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n${cert.certPem}`), /^TEAMS_CERTIFICATE_PATH: the private key in .* is encrypted/],
      [writeTestFile(cert, 'garbage.pem', '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'), /^TEAMS_CERTIFICATE_PATH: .*garbage\.pem is not a readable PEM key and certificate/],
    ];
    const ec = makeTestCertificate('ec', { keyType: 'ec' });
    cases.push([ec.bundlePath, /^TEAMS_CERTIFICATE_PATH: the key in .* is ec; Microsoft Entra ID takes RSA certificates/]);
    for (const [file, message] of cases) {
      let error: unknown = null;
      try {
        teamsCredentialFromEnv({ ...base, TEAMS_CERTIFICATE_PATH: file });
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code: 'E_ENV_INVALID' });
      expect((error as Error).message).toMatch(message);
      // Never the key material.
      expect((error as Error).message).not.toContain('PRIVATE KEY-----\nMI');
    }
  });

  test('a certificate that expires within 30 days is a warning at start, an expired one an error; secrets and identities have none', () => {
    const credential = teamsCredentialFromEnv({ ...base, TEAMS_CERTIFICATE_PATH: cert.bundlePath });
    const notAfter = new Date((credential as Extract<TeamsCredential, { kind: 'certificate' }>).notAfter);
    expect(certificateExpiryNotice(credential, new Date(notAfter.getTime() - 31 * 86_400_000))).toBeNull();
    expect(certificateExpiryNotice(credential, new Date(notAfter.getTime() - 29.5 * 86_400_000))).toEqual({ level: 'warn', message: expect.stringMatching(/expires on .*, in 29 days: upload a new one/) });
    expect(certificateExpiryNotice(credential, new Date(notAfter.getTime() + 1000))).toEqual({ level: 'error', message: expect.stringMatching(/expired on .*: Microsoft Entra ID refuses it/) });
    expect(certificateExpiryNotice({ kind: 'secret', appId: 'a', appPassword: 'p' }, new Date())).toBeNull();
  });

  test('managed identity: App Service\'s endpoint when the platform set it, else IMDS (TEAMS_IMDS_URL, default 169.254.169.254)', () => {
    expect(teamsCredentialFromEnv(loadEnv({ ...base, TEAMS_MANAGED_IDENTITY: 'true', IDENTITY_ENDPOINT: 'http://127.0.0.1:41000/msi/token', IDENTITY_HEADER: 'h' }))).toEqual({
      kind: 'managed-identity',
      appId: 'app',
      endpoint: { style: 'app-service', url: 'http://127.0.0.1:41000/msi/token', header: 'h' },
    });
    expect(teamsCredentialFromEnv(loadEnv({ ...base, TEAMS_MANAGED_IDENTITY: '1' }))).toEqual({ kind: 'managed-identity', appId: 'app', endpoint: { style: 'imds', url: 'http://169.254.169.254/metadata/identity/oauth2/token' } });
  });
});

describe('Teams tokens against the fake authority and identity endpoints', () => {
  let teams: FakeTeams;
  let cert: TestCertificate;
  const request = (now = Date.now) => ({ authorityUrl: teams.authorityUrl, tenantId: teams.tenantId, timeoutMs: 5000, now });
  const certificateCredential = (file: string): TeamsCredential => teamsCredentialFromEnv({ TEAMS_APP_ID: teams.appId, TEAMS_CERTIFICATE_PATH: file });

  beforeAll(async () => {
    teams = await startFakeTeams();
    cert = makeTestCertificate();
    teams.registerCertificate(cert.certPem);
  });
  afterAll(async () => teams?.close());

  test('a certificate: a PS256 client assertion (x5t#S256, aud = the token URL, iss = sub = the app id, ten minutes) that the authority takes; no secret is sent', async () => {
    const before = teams.tokenRequests.length;
    const token = await acquireToken(certificateCredential(cert.bundlePath), request());
    expect(teams.tokenAnswers.at(-1)).toEqual({ status: 200 });
    expect(token.token).toMatch(/^fake-access-/);
    const form = teams.tokenRequests[before] as Record<string, string>;
    expect(form).toMatchObject({ grant_type: 'client_credentials', client_id: teams.appId, scope: 'https://api.botframework.com/.default', client_assertion_type: clientAssertionType });
    expect(form.client_secret).toBeUndefined();
    const assertion = form.client_assertion ?? '';
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'PS256', typ: 'JWT', 'x5t#S256': cert.x5tS256 });
    const claims = decodeJwt(assertion);
    expect(claims).toMatchObject({ aud: `${teams.authorityUrl}/${teams.tenantId}/oauth2/v2.0/token`, iss: teams.appId, sub: teams.appId });
    expect((claims.exp ?? 0) - (claims.nbf ?? 0)).toBe(600);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('an unregistered certificate and an expired assertion are refused; the error names the variables and carries neither the assertion nor the key', async () => {
    const stranger = makeTestCertificate('stranger');
    const refused = await acquireToken(certificateCredential(stranger.bundlePath), request()).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConnectorError);
    expect((refused as ConnectorError).status).toBe(401);
    expect((refused as ConnectorError).retryable).toBe(false);
    expect((refused as Error).message).toBe('the token authority refused TEAMS_APP_ID / TEAMS_CERTIFICATE_PATH / TEAMS_TENANT_ID: AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.');
    const assertion = teams.tokenRequests.at(-1)?.client_assertion ?? '';
    expect((refused as Error).message).not.toContain(assertion.slice(0, 20));

    // The registered certificate's thumbprint on an assertion signed by another key: the signature is checked.
    const forged = { ...(certificateCredential(stranger.bundlePath) as Extract<TeamsCredential, { kind: 'certificate' }>), x5tS256: cert.x5tS256 };
    await expect(acquireToken(forged, request())).rejects.toThrow(/AADSTS700027: Client assertion failed signature validation\.$/);

    // Made twenty minutes ago (the injected clock): past its exp.
    const stale = await acquireToken(certificateCredential(cert.bundlePath), request(() => Date.now() - 20 * 60_000)).catch((err: unknown) => err);
    expect((stale as Error).message).toMatch(/TEAMS_CERTIFICATE_PATH .*: AADSTS700024: Client assertion is not within its valid time range/);
    // The authority's clock ahead: the same refusal for an assertion made now.
    teams.authorityClockSkewSeconds = 15 * 60;
    try {
      const skewed = await acquireToken(certificateCredential(cert.bundlePath), request()).catch((err: unknown) => err);
      expect((skewed as Error).message).toMatch(/AADSTS700024/);
    } finally {
      teams.authorityClockSkewSeconds = 0;
    }
  });

  test('managed identity, App Service style: X-IDENTITY-HEADER, api-version 2019-08-01, resource and client_id; expires_on read', async () => {
    const credential = teamsCredentialFromEnv({ TEAMS_APP_ID: teams.appId, TEAMS_MANAGED_IDENTITY: true, IDENTITY_ENDPOINT: teams.appServiceIdentityUrl, IDENTITY_HEADER: teams.identityHeader });
    const token = await acquireToken(credential, request());
    expect(token.expiresAt).toBeGreaterThan(Date.now() + 3500_000);
    expect(teams.identityRequests.at(-1)).toEqual({ style: 'app-service', query: { 'api-version': '2019-08-01', resource: 'https://api.botframework.com', client_id: teams.appId }, identityHeader: teams.identityHeader, status: 200 });

    const wrong = teamsCredentialFromEnv({ TEAMS_APP_ID: teams.appId, TEAMS_MANAGED_IDENTITY: true, IDENTITY_ENDPOINT: teams.appServiceIdentityUrl, IDENTITY_HEADER: 'a-stale-header-value' });
    const refused = await acquireToken(wrong, request()).catch((err: unknown) => err);
    expect((refused as Error).message).toBe('the managed identity endpoint refused the managed identity TEAMS_APP_ID (IDENTITY_ENDPOINT): The X-IDENTITY-HEADER is missing or does not match IDENTITY_HEADER.');
    expect((refused as Error).message).not.toContain('a-stale-header-value');
  });

  test('managed identity, IMDS: Metadata: true, api-version 2018-02-01; another client id is refused', async () => {
    const credential = teamsCredentialFromEnv({ TEAMS_APP_ID: teams.appId, TEAMS_MANAGED_IDENTITY: true, TEAMS_IMDS_URL: teams.imdsUrl });
    const token = await acquireToken(credential, request());
    expect(token.token).toMatch(/^fake-access-/);
    expect(teams.identityRequests.at(-1)).toEqual({ style: 'imds', query: { 'api-version': '2018-02-01', resource: 'https://api.botframework.com', client_id: teams.appId }, metadata: 'true', status: 200 });
    const other = teamsCredentialFromEnv({ TEAMS_APP_ID: 'not-this-vm', TEAMS_MANAGED_IDENTITY: true, TEAMS_IMDS_URL: teams.imdsUrl });
    await expect(acquireToken(other, request())).rejects.toThrow(/IMDS at TEAMS_IMDS_URL\): No User Assigned or Delegated Managed Identity found/);
  });

  test('TokenSource: one request for concurrent callers, cached, refreshed five minutes before expiry, for every kind', async () => {
    const kinds: TeamsCredential[] = [
      certificateCredential(cert.bundlePath),
      teamsCredentialFromEnv({ TEAMS_APP_ID: teams.appId, TEAMS_MANAGED_IDENTITY: true, IDENTITY_ENDPOINT: teams.appServiceIdentityUrl, IDENTITY_HEADER: teams.identityHeader }),
      teamsCredentialFromEnv({ TEAMS_APP_ID: teams.appId, TEAMS_MANAGED_IDENTITY: true, TEAMS_IMDS_URL: teams.imdsUrl }),
      { kind: 'secret', appId: teams.appId, appPassword: teams.appPassword },
    ];
    // The authority's clock moves with the injected one (assertions are dated by it).
    const advance = (ms: number) => {
      now += ms;
      teams.authorityClockSkewSeconds = Math.round((now - Date.now()) / 1000);
    };
    let now = Date.now();
    for (const credential of kinds) {
      now = Date.now();
      teams.authorityClockSkewSeconds = 0;
      const count = () => teams.tokenRequests.length + teams.identityRequests.length;
      const before = count();
      const source = tokenSourceFor(credential, { tenantId: teams.tenantId, authorityUrl: teams.authorityUrl, now: () => now });
      const [a, b, c] = await Promise.all([source.get(), source.get(), source.get()]);
      expect(new Set([a, b, c]).size).toBe(1);
      expect(count() - before).toBe(1);
      advance(54 * 60_000); // 6 minutes before the hour's token expires: still cached
      expect(await source.get()).toBe(a);
      expect(count() - before).toBe(1);
      advance(2 * 60_000); // within five minutes of expiry: a new one
      const fresh = await source.get();
      expect(fresh).not.toBe(a);
      expect(count() - before).toBe(2);
      source.invalidate();
      expect(await source.get()).not.toBe(fresh);
      expect(count() - before).toBe(3);
    }
    teams.authorityClockSkewSeconds = 0;
  });
});
