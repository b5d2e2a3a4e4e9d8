import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';
import { startFakeOnCall, type FakeOnCall } from '../fakes/oncall/fake-oncall.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { blockActionsRequest, postToBolt } from '../fakes/slack/signed-request.js';
import { freePort, startBot, type BotProcess } from './bot-process.js';

const secret = 'test-signing-secret-0123456789';
const authKey = 'escalation-webhook-auth-key';

type Blocks = Array<{ type: string; block_id?: string; elements?: Array<{ action_id: string; value: string }> }>;

describe('Splunk On-Call incidents on Slack: one message per incident, buttons act as the clicking user', () => {
  let slack: FakeSlack;
  let oncall: FakeOnCall;
  let bot: BotProcess;
  let events: string;

  beforeAll(async () => {
    slack = await startFakeSlack();
    slack.addChannel('C0INCIDENT', { name: 'incidents' });
    oncall = await startFakeOnCall();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-slack-oncall-'));
    writeFileSync(
      path.join(dir, 'deckhand.yaml'),
      `
environments: { staging: {} }
apps:
  hello: { provider: { script: ${path.join(projectRoot, 'scripts/hello-deploy.sh')} }, environments: [staging] }
oncall:
  channel: C0INCIDENT
  users: { U0ALICE: jdoe }
`,
    );
    const port = await freePort();
    const webhookUrl = `http://127.0.0.1:${port}/webhooks/victorops`;
    bot = await startBot({
      cwd: dir,
      env: {
        PORT: String(port),
        SLACK_BOT_TOKEN: slack.workspace.botToken,
        SLACK_SIGNING_SECRET: secret,
        SLACK_API_URL: slack.apiUrl,
        SPLUNK_ONCALL_API_URL: oncall.url,
        SPLUNK_ONCALL_API_ID: oncall.apiId,
        SPLUNK_ONCALL_API_KEY: oncall.apiKey,
        SPLUNK_ONCALL_WEBHOOK_URL: webhookUrl,
        SPLUNK_ONCALL_WEBHOOK_KEY: authKey,
        LOG_LEVEL: 'warn',
      },
    });
    await bot.waitFor('Deckhand on Slack (HTTP mode');
    events = `http://127.0.0.1:${port}/slack/events`;
    oncall.addEscalationWebhook({ url: webhookUrl, authKey });
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await slack?.close();
    await oncall?.close();
  });

  test('triggered → Acknowledge (as jdoe) → Resolve refused for an unmapped user, then resolved; the one message is edited each time', async () => {
    await oncall.alert({ message_type: 'CRITICAL', entity_id: 'disk/db-1', entity_display_name: 'Disk full on db-1', state_message: '95% used on /var', routing_key: 'ops' });
    await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'C0INCIDENT', 10_000);
    const [posted] = slack.messages('C0INCIDENT');
    expect(posted?.text).toBe('Incident: Disk full on db-1 — triggered');
    const buttons = (posted?.blocks as Blocks).find((b) => b.type === 'actions')!;
    expect(buttons.elements?.map((e) => e.action_id)).toEqual(['deckhand_incident_ack', 'deckhand_incident_resolve']);
    const click = (userId: string, index: number, blocks: Blocks) => {
      const actions = blocks.find((b) => b.type === 'actions')!;
      const button = actions.elements![index]!;
      return postToBolt(events, secret, blockActionsRequest({ userId, channelId: 'C0INCIDENT', message: { ts: posted!.ts }, actions: [{ action_id: button.action_id, block_id: actions.block_id!, value: button.value }] }));
    };

    expect((await click('U0ALICE', 0, posted!.blocks as Blocks)).status).toBe(200);
    await slack.waitForCall('chat.update', (c) => String(c.body.text).endsWith('acknowledged by jdoe'), 10_000);
    const [incident] = oncall.incidents();
    expect(incident).toMatchObject({ currentPhase: 'ACKED', transitions: expect.arrayContaining([expect.objectContaining({ name: 'ACKED', by: 'jdoe' })]) });
    const acked = slack.message('C0INCIDENT', posted!.ts)!;
    expect(acked.text).toBe(`Incident ${incident!.incidentNumber}: Disk full on db-1 — acknowledged by jdoe`);
    expect((acked.blocks as Blocks).find((b) => b.type === 'actions')?.elements?.map((e) => e.action_id)).toEqual(['deckhand_incident_resolve']);

    expect((await click('U0BOB', 0, acked.blocks as Blocks)).status).toBe(200);
    const refused = await slack.waitForCall('chat.postEphemeral', (c) => c.body.user === 'U0BOB', 10_000);
    expect(refused.body.text).toBe('I don\'t know your Splunk On-Call user, so I can\'t resolve as you: add "U0BOB: <username>" under oncall.users in the config.');

    expect((await click('U0ALICE', 0, acked.blocks as Blocks)).status).toBe(200);
    await slack.waitForCall('chat.update', (c) => String(c.body.text).endsWith('resolved by jdoe'), 10_000);
    expect(oncall.incidents()[0]?.currentPhase).toBe('RESOLVED');
    const resolved = slack.message('C0INCIDENT', posted!.ts)!;
    expect((resolved.blocks as Blocks).some((b) => b.type === 'actions')).toBe(false);
    expect(slack.messages('C0INCIDENT')).toHaveLength(1);
  }, 30_000);

  test('acknowledged by jdoe, then a RECOVERY alert that names no one: the message says "resolved", not "resolved by jdoe"', async () => {
    await oncall.alert({ message_type: 'CRITICAL', entity_id: 'cpu/web-1', entity_display_name: 'CPU hot on web-1', routing_key: 'ops' });
    const post = await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'C0INCIDENT' && String(c.body.text).includes('CPU hot on web-1'), 10_000);
    const posted = slack.messages('C0INCIDENT').find((m) => m.text === String(post.body.text))!;
    const actions = (posted.blocks as Blocks).find((b) => b.type === 'actions')!;
    const ack = actions.elements![0]!;
    const click = blockActionsRequest({ userId: 'U0ALICE', channelId: 'C0INCIDENT', message: { ts: posted.ts }, actions: [{ action_id: ack.action_id, block_id: actions.block_id!, value: ack.value }] });
    expect((await postToBolt(events, secret, click)).status).toBe(200);
    await slack.waitForCall('chat.update', (c) => c.body.ts === posted.ts && String(c.body.text).endsWith('acknowledged by jdoe'), 10_000);

    await oncall.alert({ message_type: 'RECOVERY', entity_id: 'cpu/web-1', routing_key: 'ops' });
    await slack.waitForCall('chat.update', (c) => c.body.ts === posted.ts && String(c.body.text).includes('resolved'), 10_000);
    const number = oncall.incidents().find((i) => i.entityId === 'cpu/web-1')!.incidentNumber;
    const resolved = slack.message('C0INCIDENT', posted.ts)!;
    expect(resolved.text).toBe(`Incident ${number}: CPU hot on web-1 — resolved`);
    expect(JSON.stringify(resolved.blocks)).not.toContain('jdoe');
  }, 30_000);
});
