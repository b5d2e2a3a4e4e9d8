import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ShellAdapter } from '../../adapters/shell/shell-adapter.js';
import { incidentMessage } from '../../adapters/slack/incident-blocks.js';
import { projectRoot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { victorOpsSignature } from '../../src/oncall/signature.js';
import { loadReactions } from '../../src/reactions/load-reactions.js';
import type { ChatMessage } from '../../src/router/types.js';
import { startFakeOnCall, type FakeOnCall } from '../fakes/oncall/fake-oncall.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';
import { freePort } from './bot-process.js';

const authKey = 'escalation-webhook-auth-key';

const config = () =>
  parseConfig(
    `
environments:
  staging: {}
  production: {}
apps:
  api:
    provider: { script: test/fixtures/reactions/fail.sh }
    environments: [staging, production]
roles:
  deployers: { members: [alice, bob], may: ["deploy:*"] }
oncall:
  channel: "#incidents"
  users: { alice: jdoe }
`,
    path.join(projectRoot, 'deckhand.oncall-test.yaml'),
    {},
  );

/** The catalog's REST-endpoint alert (a failed production deployment opens an incident), plus a reaction to incident events. */
function reactions(alertUrl: string, restKey: string) {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'deckhand-oncall-reactions-')), 'reactions');
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'incident-note.yaml'),
    `name: incident-note
on: { event: [incident.triggered, incident.acknowledged, incident.resolved] }
do:
  - chat: { channel: "#audit", text: "{{ event.type }} {{ incident.entityId }} by {{ incident.by }} from {{ event.source }}" }
`,
  );
  const env = { SPLUNK_ONCALL_REST_KEY: restKey, SPLUNK_ONCALL_ROUTING_KEY: 'deploys', SPLUNK_ONCALL_ALERT_URL: alertUrl };
  const catalog = loadReactions(path.join(projectRoot, 'reactions'), env).reactions.filter((r) => r.name === 'splunk-oncall-alert');
  return [...loadReactions(dir, {}).reactions, ...catalog];
}

describe('Splunk On-Call: incidents in, acknowledge / resolve out, who is on call', () => {
  let oncall: FakeOnCall;
  let h: InProcess;
  let webhookUrl: string;
  let n = 0;

  beforeAll(async () => {
    oncall = await startFakeOnCall();
    const port = await freePort();
    webhookUrl = `http://127.0.0.1:${port}/webhooks/victorops`;
    h = await startInProcess({
      config: config(),
      reactions: reactions(oncall.url, oncall.restKey),
      oncall: { apiUrl: oncall.url, apiId: oncall.apiId, apiKey: oncall.apiKey, webhookUrl, webhookKey: authKey },
      port,
    });
    oncall.addEscalationWebhook({ url: webhookUrl, authKey });
  });
  afterAll(async () => {
    await h?.close();
    await oncall?.close();
  });

  const say = (text: string, user = 'alice') => {
    const message: ChatMessage = { id: `v${++n}`, user, room: '#ops', text, isDirect: true, adapter: 'test' };
    return h.deckhand.dispatcher.handle(message);
  };
  const settle = async () => {
    await oncall.webhookResponses();
    await until(async () => (await h.store.listJobs({ state: 'pending' })).length === 0 && (await h.store.listJobs({ state: 'running' })).length === 0, 'the job queue to drain');
  };
  const incidentEvents = async (entity: string) =>
    (await h.store.listEvents({ afterId: 0, limit: 1000 }))
      .filter((e) => e.type.startsWith('incident.') && (e.data as { incident: { entityId: string } }).incident.entityId === entity)
      .map((e) => [e.type, (e.data as { source: string }).source]);

  test('the worked example of the reference signs as documented', () => {
    const body = 'routing_key=deploys&message_type=CRITICAL&entity_id=octopus%2FProjects-1%2FEnvironments-2&state_message=Deploy+failed&alert_type=CRITICAL';
    expect(victorOpsSignature('s3cr3t-webhook-key', 'https://bot.example.com/hooks/victorops', new URLSearchParams(body))).toBe('owCZ8vMlzUvnoW76+3ICG8qGN+8=');
  });

  test('a failed production deployment opens an incident (REST endpoint); its escalation webhook comes back as incident.triggered', async () => {
    await h.deckhand.actions.deploy({ id: 'alice' }, { app: 'api', environment: 'production' });
    await h.deckhand.runner.idle();
    await until(() => oncall.incidents().length === 1, 'the incident in Splunk On-Call');
    await settle();
    const [opened] = oncall.incidents();
    expect(opened).toMatchObject({ entityId: 'deckhand/api/production', currentPhase: 'UNACKED', routingKey: 'deploys' });
    expect(await h.store.getIncident('deckhand/api/production')).toMatchObject({ phase: 'triggered', generation: 1, routingKey: 'deploys' });
    expect(await incidentEvents('deckhand/api/production')).toEqual([['incident.triggered', 'splunk-oncall']]);
    await until(() => h.chat.some((c) => c.channel === '#audit'), 'the incident reaction');
    expect(h.chat.filter((c) => c.channel === '#audit').map((c) => c.text)).toEqual(['incident.triggered deckhand/api/production by  from splunk-oncall']);
  }, 30_000);

  test('"ack" acts as the chat user\'s on-call user; the webhook that follows is a repeat', async () => {
    const reply = await say('ack deckhand/api/production on it');
    const [incident] = oncall.incidents();
    expect(reply).toMatchObject({ tone: 'success', text: `Incident ${incident!.incidentNumber} acknowledged as jdoe.` });
    expect(oncall.callsTo('PATCH', /\/api-public\/v1\/incidents\/ack$/)[0]?.body).toEqual({ userName: 'jdoe', incidentNames: [incident!.incidentNumber], message: 'on it' });
    expect(incident).toMatchObject({ currentPhase: 'ACKED', transitions: expect.arrayContaining([expect.objectContaining({ name: 'ACKED', by: 'jdoe', message: 'on it' })]) });
    await settle();
    expect(await h.store.getIncident('deckhand/api/production')).toMatchObject({ phase: 'acknowledged', by: 'jdoe', number: incident!.incidentNumber });
    expect(await incidentEvents('deckhand/api/production')).toEqual([
      ['incident.triggered', 'splunk-oncall'],
      ['incident.acknowledged', 'deckhand'],
    ]);
  });

  test('someone without an on-call user is told how to fix it; nothing is sent', async () => {
    const before = oncall.calls.length;
    const reply = await say('resolve deckhand/api/production', 'bob');
    expect(reply).toMatchObject({ tone: 'error', text: 'I don\'t know your Splunk On-Call user, so I can\'t resolve as you: add "bob: <username>" under oncall.users in the config.' });
    expect(oncall.calls.length).toBe(before);
  });

  test('resolve by number; a new alert for the same entity afterwards is a new incident', async () => {
    const number = oncall.incidents()[0]!.incidentNumber;
    expect((await say(`resolve ${number} fixed`))?.text).toBe(`Incident ${number} resolved as jdoe.`);
    await settle();
    expect(await h.store.getIncident('deckhand/api/production')).toMatchObject({ phase: 'resolved', by: 'jdoe', generation: 1 });
    const again = await say(`resolve ${number}`);
    expect(again?.text).toMatch(new RegExp(`^Splunk On-Call did not resolve incident ${number}`));

    await oncall.alert({ message_type: 'CRITICAL', entity_id: 'deckhand/api/production', entity_display_name: 'api failed again', routing_key: 'deploys' });
    await settle();
    expect(await h.store.getIncident('deckhand/api/production')).toMatchObject({ phase: 'triggered', generation: 2, title: 'api failed again', number: null });
  });

  test('a recovery that names no one is "resolved", not "resolved by" whoever acknowledged; one that names someone credits them', async () => {
    const entity = 'queue/backlog';
    // What the terminal adapter prints for the incident events, as Deckhand runs it on a terminal.
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    const shell = new ShellAdapter({ input: new PassThrough(), output, user: 'shell:tester', botName: 'deckhand' });
    const unsubscribe = h.deckhand.bus.subscribe(shell.onEvent);
    try {
      await oncall.alert({ message_type: 'CRITICAL', entity_id: entity, entity_display_name: 'Queue backlog', routing_key: 'ops' });
      await settle();
      expect((await say(`ack ${entity}`))?.text).toMatch(/^Incident \d+ acknowledged as jdoe\.$/);
      await settle();
      const number = (await h.store.getIncident(entity))!.number!;
      expect(await h.store.getIncident(entity)).toMatchObject({ phase: 'acknowledged', by: 'jdoe' });

      // The monitoring tool's all-clear: a RECOVERY alert without ack_author, back through the signed webhook.
      await oncall.alert({ message_type: 'RECOVERY', entity_id: entity, routing_key: 'ops' });
      await settle();
      const recovery = (await oncall.webhookResponses()).at(-1);
      expect(recovery).toMatchObject({ status: 202, fields: { message_type: 'RECOVERY', entity_id: entity } });
      expect(recovery?.fields).not.toHaveProperty('ack_author');
      const resolved = await h.store.getIncident(entity);
      expect(resolved).toMatchObject({ phase: 'resolved', by: null, number, generation: 1 });
      const resolvedEvent = (await h.store.listEvents({ type: 'incident.resolved', afterId: 0, limit: 1000 })).at(-1);
      expect(resolvedEvent?.data).toMatchObject({ source: 'splunk-oncall', incident: { entityId: entity, phase: 'resolved', by: null } });
      expect(incidentMessage(resolved!).text).toBe(`Incident ${number}: Queue backlog — resolved`);
      expect(JSON.stringify(incidentMessage(resolved!).blocks)).not.toContain('jdoe');
      await until(() => printed.includes(`[incident ${number}] Queue backlog: resolved`), 'the terminal notice');
      expect(printed).toContain(`[incident ${number}] Queue backlog: resolved\n`);
      expect(printed).not.toContain('resolved by');

      // The next incident of the entity, resolved by an alert that names its author.
      await oncall.alert({ message_type: 'CRITICAL', entity_id: entity, entity_display_name: 'Queue backlog again', routing_key: 'ops' });
      await settle();
      await oncall.alert({ message_type: 'RECOVERY', entity_id: entity, routing_key: 'ops', ack_author: 'asmith' });
      await settle();
      const credited = await h.store.getIncident(entity);
      expect(credited).toMatchObject({ phase: 'resolved', by: 'asmith', generation: 2 });
      expect(incidentMessage(credited!).text).toBe('Incident: Queue backlog again — resolved by asmith');
      await until(() => printed.includes('[incident] Queue backlog again: resolved'), 'the second terminal notice');
      expect(printed).toContain('[incident] Queue backlog again: resolved by asmith\n');
    } finally {
      unsubscribe();
    }
  });

  test('who is on call, per team, in either spelling of the API; a rate limit is explained', async () => {
    oncall.addTeam({ name: 'Databases', slug: 'team-db', policy: { name: 'DB primary', slug: 'pol-db' }, onCall: ['asmith'] });
    expect((await say('who is on call'))?.text).toBe('Platform:\n  Primary: jdoe\nDatabases:\n  DB primary: asmith');
    oncall.setOnCallSpelling('swagger');
    expect((await say('who is on call databases'))?.text).toBe('Databases:\n  DB primary: asmith');
    expect((await say('who is on call nobody-team'))?.text).toBe('No on-call team "nobody-team"; teams: Platform, Databases.');
    oncall.rateLimitNext();
    expect((await say('who is on call'))?.text).toMatch(/^Splunk On-Call refused Deckhand's API credentials or hit its rate limit \(403/);
  });

  describe('POST /webhooks/victorops', () => {
    const target = () => ({ url: webhookUrl, authKey });
    const fields = { message_type: 'CRITICAL', entity_id: 'disk/db-1', entity_display_name: 'Disk full on db-1', state_message: '95% used', routing_key: 'ops' };

    test('bad, missing or differently-signed (trailing slash) signatures are 401; reordered fields are fine; a repeat is 200', async () => {
      expect((await oncall.sendEscalationWebhook(target(), fields, { badSignature: true })).status).toBe(401);
      expect((await oncall.sendEscalationWebhook(target(), fields, { noSignature: true })).status).toBe(401);
      expect((await oncall.sendEscalationWebhook(target(), fields, { signedUrl: `${webhookUrl}/` })).status).toBe(401);
      expect(await h.store.getIncident('disk/db-1')).toBeNull();
      expect((await oncall.sendEscalationWebhook(target(), fields, { reverse: true })).status).toBe(202);
      expect((await oncall.sendEscalationWebhook(target(), fields, { reverse: true })).status).toBe(200);
      await settle();
      expect(await h.store.getIncident('disk/db-1')).toMatchObject({ phase: 'triggered', title: 'Disk full on db-1', message: '95% used' });
    });

    test('JSON is refused (415); INFO alerts change nothing', async () => {
      const json = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-victorops-signature': 'x' }, body: JSON.stringify(fields) });
      expect(json.status).toBe(415);
      expect((await oncall.sendEscalationWebhook(target(), { ...fields, entity_id: 'info/only', message_type: 'INFO' })).status).toBe(202);
      await settle();
      expect(await h.store.getIncident('info/only')).toBeNull();
    });
  });
});
