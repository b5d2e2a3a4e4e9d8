import { plainMessage } from '../../../../adapters/slack/slack-adapter.js';

/**
 * plainMessage is what the `message` listener reads and also what lets the HTTP receiver answer
 * channel chatter without Bolt: whatever it drops, the listener would have dropped.
 */
describe('plainMessage (which `message` events the Slack adapter reads)', () => {
  const base = { type: 'message', channel: 'C0GENERAL', channel_type: 'channel', user: 'U0ALICE', text: '!locks', ts: '1700000000.000100' };

  test('a plain user message becomes a ChatMessage, in its thread when it has one', () => {
    expect(plainMessage(base, 'UBOT')).toEqual({ id: base.ts, user: 'U0ALICE', room: 'C0GENERAL', text: '!locks', isDirect: false, adapter: 'slack' });
    expect(plainMessage({ ...base, thread_ts: '1699999999.000001' }, 'UBOT')?.thread).toBe('1699999999.000001');
    expect(plainMessage({ ...base, channel: 'D0ALICE', channel_type: 'im' }, 'UBOT')?.isDirect).toBe(true);
  });

  test.each([
    ['an edit (a subtype)', { ...base, subtype: 'message_changed' }],
    ['a bot post', { ...base, subtype: 'bot_message', bot_id: 'B0OTHER' }],
    ['no user', { ...base, user: undefined }],
    ['an empty text', { ...base, text: '' }],
    ['a text that is not a string', { ...base, text: 42 }],
    ['a user that is not a string', { ...base, user: { id: 'U0ALICE' } }],
    ['a mention of the bot in a channel (app_mention answers it)', { ...base, text: '<@UBOT> locks' }],
  ])('%s is not read', (_what, message) => {
    expect(plainMessage(message, 'UBOT')).toBeNull();
  });

  test('a mention of the bot in a direct message is read (no app_mention comes for it)', () => {
    expect(plainMessage({ ...base, channel: 'D0ALICE', channel_type: 'im', text: '<@UBOT> locks' }, 'UBOT')?.text).toBe('<@UBOT> locks');
  });
});
