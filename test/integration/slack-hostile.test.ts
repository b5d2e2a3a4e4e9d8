import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.js';
import { appMentionRequest, postToBolt, type SlackRequest } from '../fakes/slack/signed-request.js';
import { startBot, type BotProcess } from './bot-process.js';
import { slackConfigDir } from './slack-config.js';

const secret = 'test-signing-secret-0123456789';
const json = (body: string): SlackRequest => ({ body, contentType: 'application/json' });
const form = (body: string): SlackRequest => ({ body, contentType: 'application/x-www-form-urlencoded' });
const payload = (value: string) => form(`payload=${encodeURIComponent(value)}`);
const user = '"user":{"id":"U0ALICE"}';

/**
 * Validly signed bodies that Bolt's HTTPReceiver cannot take. `null` (as JSON or `payload=null`)
 * used to kill the process; others threw inside Bolt (500) or went unanswered for 3 s (404).
 */
const hostile: Array<[string, SlackRequest]> = [
  ['JSON null', json('null')],
  ['form payload=null', payload('null')],
  ['JSON []', json('[]')],
  ['JSON "str"', json('"str"')],
  ['JSON 1', json('1')],
  ['JSON true', json('true')],
  ['JSON {}', json('{}')],
  ['an unknown type', json('{"type":"bogus"}')],
  ['a type that is not a string', json('{"type":5}')],
  ['event_callback without event', json('{"type":"event_callback"}')],
  ['event_callback with event null', json('{"type":"event_callback","event":null}')],
  ['event_callback with a string event', json('{"type":"event_callback","event":"x"}')],
  ['an event without a type', json('{"type":"event_callback","event":{}}')],
  ['an event with channel null', json('{"type":"event_callback","event":{"type":"reaction_added","channel":null}}')],
  ['an event with user null', json('{"type":"event_callback","event":{"type":"reaction_added","user":null}}')],
  ['an event with item 5', json('{"type":"event_callback","event":{"type":"reaction_added","item":5}}')],
  ['authorizations [null]', json('{"type":"event_callback","authorizations":[null],"event":{"type":"reaction_added"}}')],
  ['an event without the envelope type', json('{"event":{"type":"message","channel":"C0GENERAL","ts":"1.2"}}')],
  ['an app_mention without text', json('{"type":"event_callback","event":{"type":"app_mention","user":"U0ALICE","channel":"C0GENERAL","ts":"1.2"}}')],
  ['url_verification without challenge', json('{"type":"url_verification"}')],
  ['url_verification with a number challenge', json('{"type":"url_verification","challenge":5}')],
  ['form payload= (empty)', form('payload=')],
  ['form payload=1', payload('1')],
  ['form payload=[]', payload('[]')],
  ['form payload="x"', payload('"x"')],
  ['form payload={}', payload('{}')],
  ['form with payload twice', form('payload=%7B%7D&payload=%7B%7D')],
  ['a form that is nothing Slack sends', form('hello=1')],
  ['an empty form', form('')],
  ['block_actions without user', payload('{"type":"block_actions","actions":[{"action_id":"deckhand_approve"}],"trigger_id":"t"}')],
  ['block_actions with no actions', payload(`{"type":"block_actions",${user},"actions":[],"trigger_id":"t"}`)],
  ['block_actions with actions [null]', payload(`{"type":"block_actions",${user},"actions":[null],"trigger_id":"t"}`)],
  ['block_actions with a number action_id', payload(`{"type":"block_actions",${user},"actions":[{"action_id":5}],"trigger_id":"t"}`)],
  ['block_actions with channel null', payload(`{"type":"block_actions",${user},"channel":null,"actions":[{"action_id":"x"}],"trigger_id":"t"}`)],
  ['view_submission without view', payload(`{"type":"view_submission",${user}}`)],
  ['response_urls null', payload(`{"type":"shortcut",${user},"response_urls":null}`)],
  ['a slash command without text, user or channel', form('command=%2Fdeckhand')],
  ['JSON nested 10 000 levels', json(`{"type":"event_callback","event":{"type":"x","deep":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`)],
  ['payload= nested 10 000 levels', payload(`{"type":"shortcut",${user},"deep":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)],
  ['malformed JSON', json('{"type": ')],
];

describe('hostile but validly signed Slack requests: 400, and the bot process stays up', () => {
  let slack: FakeSlack;
  let bot: BotProcess;
  let events: string;

  beforeAll(async () => {
    slack = await startFakeSlack();
    for (const [id, name] of [['C0DEPLOYS', 'deploys'], ['C0GENERAL', 'general']] as const) slack.addChannel(id, { name });
    bot = await startBot({ cwd: slackConfigDir(), env: { SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl, LOG_LEVEL: 'warn' } });
    await bot.waitFor('Deckhand on Slack (HTTP mode');
    events = `http://127.0.0.1:${bot.port}/slack/events`;
  });

  afterAll(async () => {
    bot?.child.kill('SIGTERM');
    await bot?.exited;
    await slack?.close();
  });

  /** Fails with the bot's own last words when the process died instead of answering. */
  async function post(request: SlackRequest, signingSecret = secret) {
    try {
      return await postToBolt(events, signingSecret, request);
    } catch (err) {
      await Promise.race([bot.exited, new Promise((r) => setTimeout(r, 500))]);
      throw new Error(`no answer (${String(err)}); bot exit code ${String(bot.child.exitCode)}\n${bot.stderr().slice(-2000)}`);
    }
  }

  test.each(hostile)('%s: 400 with the reason', async (_name, request) => {
    const response = await post(request);
    expect({ status: response.status, body: response.text }).toEqual({ status: 400, body: expect.stringContaining('not a Slack request Deckhand can handle: ') });
    expect(bot.child.exitCode).toBeNull();
  });

  test('the same bodies unsigned, or signed with another secret, are still 401', async () => {
    for (const [, request] of hostile.slice(0, 3)) {
      const response = await fetch(events, { method: 'POST', headers: { 'content-type': request.contentType }, body: request.body });
      expect(response.status).toBe(401);
      expect((await post(request, 'another-secret-0123456789')).status).toBe(401);
    }
  });

  test('what Slack really sends still works: url_verification, ssl_check, app_rate_limited, a mention', async () => {
    const verification = await post(json('{"token":"t","challenge":"abc","type":"url_verification"}'));
    expect({ status: verification.status, text: verification.text }).toEqual({ status: 200, text: '{"challenge":"abc"}' });
    // Slack's ssl_check is not signed.
    expect((await fetch(events, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'ssl_check=1&token=t' })).status).toBe(200);
    expect((await post(json('{"token":"t","type":"app_rate_limited","team_id":"T0DECKHAND","minute_rate_limited":1518467820,"api_app_id":"A123"}'))).status).toBe(200);

    const text = `<@${slack.workspace.botUserId}> whoami`;
    const ts = slack.addUserMessage('C0GENERAL', { user: 'U0ALICE', text });
    expect((await post(appMentionRequest({ channel: 'C0GENERAL', user: 'U0ALICE', text, ts }))).status).toBe(200);
    const reply = await slack.waitForCall('chat.postMessage', (c) => c.body.channel === 'C0GENERAL', 10_000);
    expect(String(reply.body.text)).toMatch(/^You are U0ALICE/);
  });

  test('after all of it the process is alive and healthy', async () => {
    await new Promise((r) => setTimeout(r, 200));
    expect(bot.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status).toBe(200);
    expect(bot.stderr()).not.toMatch(/TypeError|Unhandled|uncaught/i);
  });
});
