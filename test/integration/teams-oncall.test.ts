import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { startFakeOnCall, type FakeOnCall } from '../fakes/oncall/fake-oncall.js';
import { cardActionActivity, messageActivity, startFakeTeams, type FakeTeams } from '../fakes/teams/fake-teams.js';
import { postActivity, teamsConfigDir, teamsEnv } from '../fakes/teams/teams-bot.js';
import { freePort, startBot, type BotProcess } from './bot-process.js';

const authKey = 'escalation-webhook-auth-key';
const incidents = '19:incidents@thread.tacv2';

type Card = { body: Array<{ text?: string }>; actions?: Array<{ type: string; verb?: string; data?: { entityId?: string } }> };
type InvokeAnswer = { statusCode: number; type: string; value: Card };
const cardOf = (body: Record<string, unknown>) => (body.attachments as Array<{ content: Card }>)[0]!.content;
const textOf = (card: Card) => card.body.map((b) => b.text ?? '').join('\n');

/**
 * Splunk On-Call incidents on Teams: one Adaptive Card per incident in oncall.teams, whose
 * Acknowledge / Resolve (Action.Execute) act in Splunk On-Call as the clicking Teams user
 * (teams:<aadObjectId> under oncall.users), updated in place for everyone; a repeated click (Teams'
 * retry of the same activity, or a second person on a stale card) is decided once.
 */
describe('Splunk On-Call incidents on Teams', () => {
  let teams: FakeTeams;
  let oncall: FakeOnCall;
  let bot: BotProcess;
  let endpoint: string;

  beforeAll(async () => {
    teams = await startFakeTeams();
    oncall = await startFakeOnCall();
    const cwd = teamsConfigDir();
    writeFileSync(
      path.join(cwd, 'deckhand.yaml'),
      `
environments: { staging: {} }
apps:
  hello: { provider: { script: ${path.join(projectRoot, 'scripts/hello-deploy.sh')} }, environments: [staging] }
oncall:
  teams: "${incidents}"
  users: { "teams:aad-alice": jdoe }
`,
    );
    const port = await freePort();
    const webhookUrl = `http://127.0.0.1:${port}/webhooks/victorops`;
    bot = await startBot({
      cwd,
      env: {
        ...teamsEnv(teams),
        PORT: String(port),
        SPLUNK_ONCALL_API_URL: oncall.url,
        SPLUNK_ONCALL_API_ID: oncall.apiId,
        SPLUNK_ONCALL_API_KEY: oncall.apiKey,
        SPLUNK_ONCALL_WEBHOOK_URL: webhookUrl,
        SPLUNK_ONCALL_WEBHOOK_KEY: authKey,
      },
    });
    await bot.waitFor('Deckhand on Microsoft Teams');
    endpoint = `http://127.0.0.1:${port}/teams/messages`;
    oncall.addEscalationWebhook({ url: webhookUrl, authKey });
    // The incidents channel's address comes from a verified activity: someone mentions the bot there once.
    expect((await postActivity(endpoint, teams, messageActivity(teams, { text: 'help', id: 'seed-1', conversationType: 'channel', conversationId: incidents, mention: true }))).status).toBe(200);
    await teams.waitForCall((c) => c.kind === 'reply' && c.activityId === 'seed-1');
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await teams?.close();
    await oncall?.close();
  });

  const click = async (verb: string, entityId: string, replyToId: string, aadObjectId: string, id: string) => {
    const answer = await postActivity(endpoint, teams, cardActionActivity(teams, { verb, data: { entityId }, replyToId, conversationId: incidents, aadObjectId, id }));
    expect(answer.status).toBe(200);
    return answer.body as InvokeAnswer;
  };

  test('triggered → Acknowledge as alice (jdoe) → refused for an unmapped user → Resolve; one card, updated in place', async () => {
    await oncall.alert({ message_type: 'CRITICAL', entity_id: 'disk/db-1', entity_display_name: 'Disk full on db-1', state_message: '95% used on /var', routing_key: 'ops' });
    const sent = await teams.waitForCall((c) => c.kind === 'send' && c.conversationId === incidents && String(c.body.text).includes('Disk full on db-1'), 10_000);
    expect(sent.body.text).toBe('Incident: Disk full on db-1 — triggered');
    const card = cardOf(sent.body);
    expect(card.actions?.map((a) => [a.type, a.verb, a.data?.entityId])).toEqual([
      ['Action.Execute', 'incident_ack', 'disk/db-1'],
      ['Action.Execute', 'incident_resolve', 'disk/db-1'],
    ]);
    const cardId = sent.responseId as string;

    const acked = await click('incident_ack', 'disk/db-1', cardId, 'aad-alice', 'ack-1');
    const [incident] = oncall.incidents();
    expect(incident).toMatchObject({ currentPhase: 'ACKED', transitions: expect.arrayContaining([expect.objectContaining({ name: 'ACKED', by: 'jdoe' })]) });
    // The clicker's refreshed card: acknowledged, only Resolve left.
    expect(acked).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(textOf(acked.value)).toContain(`Incident ${incident!.incidentNumber}: Disk full on db-1 — acknowledged by jdoe`);
    expect(acked.value.actions?.map((a) => a.verb)).toEqual(['incident_resolve']);
    // Everyone's: the same card, updated in place.
    await teams.waitForCall((c) => c.kind === 'update' && c.activityId === cardId && String(c.body.text).endsWith('acknowledged by jdoe'), 10_000);

    // Teams' retry of the same click, and a second click on the stale card: nothing more happens in Splunk On-Call.
    const transitions = oncall.incidents()[0]!.transitions.length;
    expect(textOf((await click('incident_ack', 'disk/db-1', cardId, 'aad-alice', 'ack-1')).value)).not.toContain('⚠️');
    expect(textOf((await click('incident_ack', 'disk/db-1', cardId, 'aad-alice', 'ack-2')).value)).toContain('⚠️ It is acknowledged already (by jdoe).');
    expect(oncall.incidents()[0]!.transitions).toHaveLength(transitions);

    // Bob has no Splunk On-Call user: refused, on his card only; the incident stays acknowledged.
    const refused = await click('incident_resolve', 'disk/db-1', cardId, 'aad-bob', 'resolve-bob');
    expect(textOf(refused.value)).toContain('⚠️ I don\'t know your Splunk On-Call user, so I can\'t resolve as you: add "teams:aad-bob: <username>" under oncall.users in the config.');
    expect(oncall.incidents()[0]?.currentPhase).toBe('ACKED');

    const resolved = await click('incident_resolve', 'disk/db-1', cardId, 'aad-alice', 'resolve-1');
    expect(resolved.value.actions).toBeUndefined();
    expect(oncall.incidents()[0]?.currentPhase).toBe('RESOLVED');
    await teams.waitForCall((c) => c.kind === 'update' && c.activityId === cardId && String(c.body.text).endsWith('resolved by jdoe'), 10_000);
    expect(teams.calls.filter((c) => c.kind === 'send' && c.conversationId === incidents)).toHaveLength(1);
  }, 30_000);

  test('a click that names no known incident is a clear error for the clicker', async () => {
    const answer = await click('incident_ack', 'no/such-entity', '1000', 'aad-alice', 'ack-unknown');
    expect(answer).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { message: 'Deckhand knows no incident for no/such-entity.' } });
  });
});
