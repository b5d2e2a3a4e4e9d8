import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeOnCall, victorOpsSignature, type EscalationTarget, type FakeOnCall } from './fake-oncall.js';

interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A webhook receiver that records every request and answers 200 `ok`. */
async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function apiHeaders(fake: FakeOnCall): Record<string, string> {
  return { 'X-VO-Api-Id': fake.apiId, 'X-VO-Api-Key': fake.apiKey, 'Content-Type': 'application/json', Accept: 'application/json' };
}

async function api(fake: FakeOnCall, method: string, path: string, body?: unknown, headers = apiHeaders(fake)): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${fake.url}${path}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  return { status: res.status, json: await res.json() };
}

async function postAlert(fake: FakeOnCall, body: unknown, routingKey = 'deploys', key = fake.restKey): Promise<{ status: number; json: unknown }> {
  const url = `${fake.url}/integrations/generic/20131114/alert/${key}/${routingKey}`;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

function signatureHeader(received: Received | undefined): string | undefined {
  const value = received?.headers['x-victorops-signature'];
  return Array.isArray(value) ? value.join(', ') : value;
}

describe('victorOpsSignature', () => {
  it('matches the worked example of the reference', () => {
    const body =
      'routing_key=deploys&message_type=CRITICAL&entity_id=octopus%2FProjects-1%2FEnvironments-2&state_message=Deploy+failed&alert_type=CRITICAL';
    const params = new URLSearchParams(body);
    const expected = 'owCZ8vMlzUvnoW76+3ICG8qGN+8=';
    expect(victorOpsSignature('s3cr3t-webhook-key', 'https://bot.example.com/hooks/victorops', params)).toBe(expected);
    expect(victorOpsSignature('s3cr3t-webhook-key', 'https://bot.example.com/hooks/victorops', Object.fromEntries(params))).toBe(expected);
    expect(victorOpsSignature('s3cr3t-webhook-key', 'https://bot.example.com/hooks/victorops/', params)).not.toBe(expected);
  });
});

describe('fake Splunk On-Call', () => {
  let fake: FakeOnCall;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let target: EscalationTarget;

  beforeEach(async () => {
    fake = await startFakeOnCall();
    receiver = await startReceiver();
    target = { url: `${receiver.url}/hooks/victorops?team=platform`, authKey: 'hook-auth-key' };
    fake.addEscalationWebhook(target);
  });

  afterEach(async () => {
    await fake.close();
    await receiver.close();
  });

  /** The fields of a received webhook, after checking its signature over the configured URL. */
  function verifiedFields(received: Received | undefined): Record<string, string> {
    expect(received?.method).toBe('POST');
    expect(received?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const params = new URLSearchParams(received?.body ?? '');
    expect(signatureHeader(received)).toBe(victorOpsSignature(target.authKey, target.url, params));
    return Object.fromEntries(params);
  }

  it('walks an incident through CRITICAL, a repeat alert, API ack and API resolve, with signed webhooks', async () => {
    const opened = await postAlert(fake, {
      message_type: 'CRITICAL',
      entity_id: 'octopus/Projects-1/Environments-2',
      entity_display_name: 'Web 1.4.0 failed in Production',
      state_message: 'Deployments-20 failed',
      monitoring_tool: 'deploy-bot',
      timestamp: 1_700_000_000,
    });
    expect(opened).toEqual({ status: 200, json: { result: 'success', entity_id: 'octopus/Projects-1/Environments-2' } });

    let deliveries = await fake.webhookResponses();
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ url: target.url, status: 200, body: 'ok' });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.url).toBe('/hooks/victorops?team=platform');
    expect(verifiedFields(receiver.received[0])).toEqual({
      message_type: 'CRITICAL',
      alert_type: 'CRITICAL',
      entity_id: 'octopus/Projects-1/Environments-2',
      entity_display_name: 'Web 1.4.0 failed in Production',
      state_message: 'Deployments-20 failed',
      routing_key: 'deploys',
      monitoring_tool: 'deploy-bot',
    });

    const [incident] = fake.incidents();
    expect(incident).toMatchObject({
      incidentNumber: '1',
      currentPhase: 'UNACKED',
      entityId: 'octopus/Projects-1/Environments-2',
      entityDisplayName: 'Web 1.4.0 failed in Production',
      entityState: 'CRITICAL',
      routingKey: 'deploys',
      alertCount: 1,
      startTime: '2023-11-14T22:13:20.000Z',
      pagedUsers: ['jdoe'],
      pagedTeams: ['team-platform'],
      pagedPolicies: [{ policy: { name: 'Primary', slug: 'pol-primary' }, team: { name: 'Platform', slug: 'team-platform' } }],
    });
    expect(incident?.transitions).toEqual([expect.objectContaining({ name: 'UNACKED', by: null, message: null, manually: false })]);

    // A second CRITICAL for the same entity joins the open incident: no new phase, no webhook.
    expect((await postAlert(fake, { message_type: 'CRITICAL', entity_id: 'octopus/Projects-1/Environments-2' })).status).toBe(200);
    expect(await fake.webhookResponses()).toHaveLength(1);
    expect(fake.incidents()).toHaveLength(1);
    expect(fake.incidents()[0]?.alertCount).toBe(2);

    const acked = await api(fake, 'PATCH', '/api-public/v1/incidents/ack', { userName: 'jdoe', incidentNames: ['1'], message: 'on it' });
    expect(acked).toEqual({
      status: 200,
      json: { results: [{ incidentNumber: '1', entityId: 'octopus/Projects-1/Environments-2', cmdAccepted: true, message: '' }] },
    });
    deliveries = await fake.webhookResponses();
    expect(deliveries).toHaveLength(2);
    expect(verifiedFields(receiver.received[1])).toMatchObject({
      message_type: 'ACKNOWLEDGEMENT',
      alert_type: 'ACKNOWLEDGEMENT',
      entity_id: 'octopus/Projects-1/Environments-2',
      ack_author: 'jdoe',
      ack_msg: 'on it',
    });
    expect(fake.incidents()[0]).toMatchObject({ currentPhase: 'ACKED' });
    expect(fake.incidents()[0]?.transitions.at(-1)).toMatchObject({ name: 'ACKED', by: 'jdoe', message: 'on it', manually: true });

    // Acking again is accepted but changes nothing.
    expect((await api(fake, 'PATCH', '/api-public/v1/incidents/ack', { userName: 'asmith', incidentNames: ['1'] })).json).toMatchObject({
      results: [{ cmdAccepted: true }],
    });
    expect(await fake.webhookResponses()).toHaveLength(2);

    const resolved = await api(fake, 'PATCH', '/api-public/v1/incidents/resolve', { userName: 'jdoe', incidentNames: ['1'] });
    expect(resolved.json).toEqual({ results: [{ incidentNumber: '1', entityId: 'octopus/Projects-1/Environments-2', cmdAccepted: true, message: '' }] });
    expect(await fake.webhookResponses()).toHaveLength(3);
    const recovery = verifiedFields(receiver.received[2]);
    expect(recovery).toMatchObject({ message_type: 'RECOVERY', ack_author: 'jdoe' });
    expect(recovery).not.toHaveProperty('ack_msg');

    const listed = await api(fake, 'GET', '/api-public/v1/incidents');
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({ incidents: [{ incidentNumber: '1', currentPhase: 'RESOLVED' }] });
    const transitions = (listed.json as { incidents: Array<{ transitions: Array<{ name: string }> }> }).incidents[0]?.transitions;
    expect(transitions?.map((t) => t.name)).toEqual(['UNACKED', 'ACKED', 'RESOLVED']);

    // Resolved: ack and resolve are refused; a new CRITICAL opens a new incident.
    expect((await api(fake, 'PATCH', '/api-public/v1/incidents/ack', { userName: 'jdoe', incidentNames: ['1'] })).json).toMatchObject({
      results: [{ incidentNumber: '1', cmdAccepted: false, message: expect.stringMatching(/resolved/) }],
    });
    await postAlert(fake, { message_type: 'CRITICAL', entity_id: 'octopus/Projects-1/Environments-2' });
    expect(fake.incidents().map((i) => [i.incidentNumber, i.currentPhase])).toEqual([
      ['1', 'RESOLVED'],
      ['2', 'UNACKED'],
    ]);
    expect(fake.callsTo('PATCH', /\/incidents\/(ack|resolve)$/).map((c) => c.status)).toEqual([200, 200, 200, 200]);
  });

  it('moves incidents with alerts: ACKNOWLEDGEMENT, RECOVERY, INFO, generated entity ids', async () => {
    const incident = await fake.alert({ message_type: 'CRITICAL', entity_id: 'svc/a', routing_key: 'ops' });
    expect(incident).toMatchObject({ incidentNumber: '1', currentPhase: 'UNACKED', routingKey: 'ops' });
    await postAlert(fake, { message_type: 'ACKNOWLEDGEMENT', entity_id: 'svc/a', ack_author: 'asmith', ack_msg: 'looking' });
    await postAlert(fake, { message_type: 'RECOVERY', entity_id: 'svc/a' });
    expect(await fake.alert({ message_type: 'INFO', entity_id: 'svc/a' })).toBeNull();
    expect(await fake.alert({ message_type: 'RECOVERY', entity_id: 'nothing-open' })).toBeNull();

    const [only] = fake.incidents();
    expect(only).toMatchObject({ currentPhase: 'RESOLVED', entityState: 'OK' });
    expect(only?.transitions.map((t) => [t.name, t.by, t.manually])).toEqual([
      ['UNACKED', null, false],
      ['ACKED', 'asmith', false],
      ['RESOLVED', null, false],
    ]);
    const deliveries = await fake.webhookResponses();
    expect(deliveries.map((d) => d.fields.message_type)).toEqual(['CRITICAL', 'ACKNOWLEDGEMENT', 'RECOVERY']);
    expect(deliveries[1]?.fields).toMatchObject({ ack_author: 'asmith', ack_msg: 'looking', routing_key: 'ops' });
    for (const received of receiver.received) verifiedFields(received);

    const generated = await postAlert(fake, { message_type: 'WARNING', state_message: 'no entity id' });
    const entityId = (generated.json as { entity_id: string }).entity_id;
    expect(entityId).toMatch(/\S/);
    expect(fake.incidents().at(-1)).toMatchObject({ entityId, entityState: 'WARNING', currentPhase: 'UNACKED' });
    await expect(fake.alert({ message_type: 'critical' })).rejects.toThrow(/upper case/);
  });

  it('refuses bad alerts', async () => {
    expect(await postAlert(fake, { message_type: 'CRITICAL' }, 'deploys', 'wrong-key')).toEqual({
      status: 404,
      json: { result: 'failure', message: expect.any(String) },
    });
    expect(await postAlert(fake, { entity_id: 'x' })).toEqual({ status: 400, json: { result: 'failure', message: expect.stringMatching(/message_type/) } });
    expect(await postAlert(fake, { message_type: 'critical', entity_id: 'x' })).toEqual({
      status: 400,
      json: { result: 'failure', message: expect.stringMatching(/upper case/) },
    });
    expect((await postAlert(fake, { message_type: 'PANIC' })).status).toBe(400);
    expect((await postAlert(fake, '{not json')).status).toBe(400);
    expect(fake.incidents()).toEqual([]);
    expect(fake.callsTo('POST', /^\/integrations\//).map((c) => c.status)).toEqual([404, 400, 400, 400, 400]);
  });

  it('checks credentials, users, bodies and incident numbers on the public API', async () => {
    await fake.alert({ message_type: 'CRITICAL', entity_id: 'svc/b' });

    expect(await api(fake, 'GET', '/api-public/v1/incidents', undefined, { 'X-VO-Api-Id': fake.apiId })).toEqual({ status: 401, json: { message: expect.any(String) } });
    expect((await api(fake, 'GET', '/api-public/v1/incidents', undefined, { 'X-VO-Api-Id': fake.apiId, 'X-VO-Api-Key': 'nope' })).status).toBe(403);

    fake.rateLimitNext(2);
    expect((await api(fake, 'GET', '/api-public/v1/incidents')).status).toBe(403);
    expect((await api(fake, 'GET', '/api-public/v1/oncall/current')).status).toBe(403);
    expect((await api(fake, 'GET', '/api-public/v1/incidents')).status).toBe(200);

    expect(await api(fake, 'PATCH', '/api-public/v1/incidents/ack', { userName: 'nobody', incidentNames: ['1'] })).toEqual({
      status: 404,
      json: { message: expect.any(String) },
    });
    expect((await api(fake, 'PATCH', '/api-public/v1/incidents/ack', { userName: 'jdoe' })).status).toBe(400);
    expect((await api(fake, 'PATCH', '/api-public/v1/incidents/ack', { userName: 'jdoe', incidentNames: [1] })).status).toBe(400);
    expect((await api(fake, 'PATCH', '/api-public/v1/incidents/resolve', '{oops')).status).toBe(400);

    const mixed = await api(fake, 'PATCH', '/api-public/v1/incidents/ack', { userName: 'jdoe', incidentNames: ['99', '1'] });
    expect(mixed).toEqual({
      status: 200,
      json: {
        results: [
          { incidentNumber: '99', entityId: '', cmdAccepted: false, message: expect.stringMatching(/not found/) },
          { incidentNumber: '1', entityId: 'svc/b', cmdAccepted: true, message: '' },
        ],
      },
    });

    fake.addUser('newbie');
    expect((await api(fake, 'PATCH', '/api-public/v1/incidents/resolve', { userName: 'newbie', incidentNames: ['1'] })).status).toBe(200);
    expect(fake.incidents()[0]?.transitions.at(-1)).toMatchObject({ name: 'RESOLVED', by: 'newbie' });

    expect((await api(fake, 'GET', '/api-public/v1/user')).status).toBe(404);
    expect((await api(fake, 'DELETE', '/api-public/v1/incidents')).status).toBe(405);
    expect(fake.calls.map((c) => c.status)).toEqual([401, 403, 403, 403, 200, 404, 400, 400, 400, 200, 200, 404, 405]);
    expect(fake.calls[0]?.headers['x-vo-api-id']).toBe(fake.apiId);
  });

  it('reports who is on call in either spelling', async () => {
    fake.addTeam({ name: 'Data', slug: 'team-data', policy: { name: 'Data primary', slug: 'pol-data' }, onCall: ['asmith', 'bkim'] });
    expect((await api(fake, 'GET', '/api-public/v1/oncall/current')).json).toEqual({
      teamsOnCall: [
        { team: { name: 'Platform', slug: 'team-platform' }, oncallNow: [{ escalationPolicy: { name: 'Primary', slug: 'pol-primary' }, users: [{ onCalluser: { username: 'jdoe' } }] }] },
        {
          team: { name: 'Data', slug: 'team-data' },
          oncallNow: [{ escalationPolicy: { name: 'Data primary', slug: 'pol-data' }, users: [{ onCalluser: { username: 'asmith' } }, { onCalluser: { username: 'bkim' } }] }],
        },
      ],
    });
    fake.setOnCallSpelling('swagger');
    expect((await api(fake, 'GET', '/api-public/v1/oncall/current')).json).toMatchObject({
      teamsOnCall: [{ onCallNow: [{ users: [{ onCallUser: { username: 'jdoe' } }] }] }, { onCallNow: [{ users: [{ onCallUser: { username: 'asmith' } }, {}] }] }],
    });
    // Users of added teams can ack.
    await fake.alert({ message_type: 'CRITICAL', entity_id: 'x' });
    expect((await api(fake, 'PATCH', '/api-public/v1/incidents/ack', { userName: 'bkim', incidentNames: ['1'] })).status).toBe(200);
  });

  it('sends escalation webhooks with signature variants', async () => {
    const fields = { message_type: 'CRITICAL', entity_id: 'a/b', state_message: 'x y', alert_type: 'CRITICAL' };
    expect(await fake.sendEscalationWebhook(target, fields)).toEqual({ status: 200, body: 'ok' });
    await fake.sendEscalationWebhook(target, fields, { badSignature: true });
    await fake.sendEscalationWebhook(target, fields, { signedUrl: `${receiver.url}/hooks/victorops/?team=platform` });
    await fake.sendEscalationWebhook(target, fields, { reverse: true });
    await fake.sendEscalationWebhook(target, fields, { noSignature: true });

    const good = victorOpsSignature(target.authKey, target.url, fields);
    const [plain, bad, slash, reversed, unsigned] = receiver.received;
    expect(plain?.body).toBe('message_type=CRITICAL&entity_id=a%2Fb&state_message=x+y&alert_type=CRITICAL');
    expect(signatureHeader(plain)).toBe(good);
    expect(signatureHeader(bad)).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    expect(signatureHeader(bad)).not.toBe(good);
    expect(signatureHeader(slash)).toBe(victorOpsSignature(target.authKey, `${receiver.url}/hooks/victorops/?team=platform`, fields));
    expect(signatureHeader(slash)).not.toBe(good);
    expect(reversed?.body).toBe('alert_type=CRITICAL&state_message=x+y&entity_id=a%2Fb&message_type=CRITICAL');
    expect(signatureHeader(reversed)).toBe(good);
    expect(signatureHeader(unsigned)).toBeUndefined();
    expect(receiver.received.every((r) => r.url === '/hooks/victorops?team=platform')).toBe(true);
    // Manual sends are not phase-change webhooks.
    expect(await fake.webhookResponses()).toEqual([]);
  });

  it('records a failed delivery as status 0', async () => {
    fake.addEscalationWebhook({ url: 'http://127.0.0.1:1/unreachable', authKey: 'k' });
    await fake.alert({ message_type: 'CRITICAL', entity_id: 'z' });
    const deliveries = await fake.webhookResponses();
    expect(deliveries.map((d) => d.status)).toEqual([200, 0]);
    expect(deliveries[1]?.error).toEqual(expect.any(String));
  });
});
