import { slackBodyProblem } from '../../../../adapters/slack/slack-body-shape.js';
import { appMentionPayload, blockActionsPayload, eventCallback, messagePayload, slashCommandPayload } from '../../../fakes/slack/signed-request.js';

const user = { id: 'U0ALICE', team_id: 'T0DECKHAND' };

describe('slackBodyProblem', () => {
  test.each<[string, unknown]>([
    ['an app_mention', appMentionPayload({ channel: 'C0GENERAL', user: 'U0ALICE', text: '<@UDECKHAND> help' })],
    ['a message', messagePayload({ channel: 'D0ALICE', user: 'U0ALICE', text: 'help' })],
    ['a message_changed (no user, no text)', eventCallback({ type: 'message', subtype: 'message_changed', channel: 'C0GENERAL', ts: '1.2', message: { text: 'x' } })],
    ['a reaction_added', eventCallback({ type: 'reaction_added', user: 'U0ALICE', reaction: 'eyes', item: { type: 'message', channel: 'C0GENERAL', ts: '1.2' } })],
    ['a channel_created (channel is an object)', eventCallback({ type: 'channel_created', channel: { id: 'C1', name: 'new', creator: 'U0ALICE' } })],
    ['a user_change (user is an object)', eventCallback({ type: 'user_change', user: { id: 'U0ALICE' } })],
    ['a slash command', slashCommandPayload({ command: '/deckhand', text: '', userId: 'U0ALICE', channelId: 'C0GENERAL' })],
    ['block_actions', blockActionsPayload({ userId: 'U0ALICE', channelId: 'C0DEPLOYS', message: { ts: '1.2' }, actions: [{ action_id: 'deckhand_approve', block_id: 'b', value: '1' }] })],
    ['block_actions from an org-wide install (team null)', { ...blockActionsPayload({ userId: 'U0ALICE', channelId: 'C0DEPLOYS', message: { ts: '1.2' }, actions: [{ action_id: 'a', block_id: 'b' }] }), team: null }],
    ['a view_submission', { type: 'view_submission', user, view: { id: 'V1', callback_id: 'x' } }],
    ['a global shortcut', { type: 'shortcut', user, callback_id: 'x', trigger_id: 't' }],
    ['url_verification', { type: 'url_verification', challenge: 'abc', token: 't' }],
    ['ssl_check', { ssl_check: '1', token: 't' }],
    ['app_rate_limited', { type: 'app_rate_limited', team_id: 'T0DECKHAND', minute_rate_limited: 1, api_app_id: 'A123' }],
  ])('%s is fine', (_name, body) => {
    expect(slackBodyProblem(body)).toBeNull();
  });

  test.each<[unknown, RegExp]>([
    [null, /^the body is null, not an object$/],
    [[], /is an array/],
    ['str', /is a string/],
    [1, /is a number/],
    [true, /is a boolean/],
    [{}, /no "type"/],
    [{ type: 'bogus' }, /unknown type "bogus"/],
    [{ type: 'event_callback' }, /^an Events API body: event: /],
    [{ type: 'event_callback', event: null }, /event: /],
    [{ event: { type: 'message' } }, /type: /],
    [{ type: 'event_callback', event: { type: 'x', channel: 5 } }, /event\.channel: /],
    [{ type: 'event_callback', event: { type: 'x', subteam: null } }, /event\.subteam: /],
    [{ type: 'event_callback', event: { type: 'app_mention', channel: 'C', ts: '1' } }, /^the app_mention event: text: /],
    [{ type: 'event_callback', event: { type: 'message', channel: 'C', ts: 1 } }, /^the message event: ts: /],
    [{ type: 'url_verification' }, /^a url_verification body: challenge: /],
    [{ command: '/deckhand' }, /^a slash command: /],
    [{ type: 'block_actions', user, actions: [{ action_id: 'x' }] }, /trigger_id/],
    [{ type: 'block_actions', user, trigger_id: 't', actions: [{}] }, /actions\.0\.action_id/],
    [{ type: 'interactive_message', user, actions: [] }, /actions/],
    [{ type: 'shortcut', user: null }, /user/],
    [{ type: 'shortcut', user, enterprise: 'E1' }, /enterprise/],
    [{ type: 'view_closed', user }, /view/],
  ])('%j is refused', (body, reason) => {
    expect(slackBodyProblem(body)).toMatch(reason);
  });
});
