import { commandText } from '../../../src/router/address.js';
import type { ChatMessage } from '../../../src/router/types.js';

const msg = (text: string, isDirect = false): ChatMessage => ({ id: '1', user: 'U1', room: 'C1', text, isDirect, adapter: 'test' });
const opts = { botName: 'deckhand', prefix: '!', botUserId: 'UBOT' };

describe('commandText', () => {
  test.each([
    ['<@UBOT> deploy api', 'deploy api'],
    ['<@UBOT|deckhand>: deploy api', 'deploy api'],
    ['@deckhand deploy api', 'deploy api'],
    ['Deckhand: deploy api', 'deploy api'],
    ['deckhand, deploy api', 'deploy api'],
    ['deckhand deploy api', 'deploy api'],
    ['!deploy api', 'deploy api'],
    ['!deploy! api', 'deploy! api'],
  ])('%s is addressed to the bot', (text, expected) => {
    expect(commandText(msg(text), opts)).toBe(expected);
  });

  test.each(['deploy api', 'deckhandx deploy', 'hello <@UOTHER> deploy', 'we should deploy api!'])('%s in a channel is not for the bot', (text) => {
    expect(commandText(msg(text), opts)).toBeNull();
  });

  test('direct messages need no prefix', () => {
    expect(commandText(msg('deploy api', true), opts)).toBe('deploy api');
  });
});

describe('commandText with more than one bot in a process (patterns are built once per name and id)', () => {
  test('each bot answers to its own name and mention only, in any order of calls', () => {
    const other = { botName: 'ship.it', prefix: '?', botUserId: 'UOTHER' };
    expect(commandText(msg('<@UBOT> deploy api'), opts)).toBe('deploy api');
    expect(commandText(msg('<@UBOT> deploy api'), other)).toBeNull();
    expect(commandText(msg('ship.it: deploy api'), other)).toBe('deploy api');
    expect(commandText(msg('shipxit: deploy api'), other)).toBeNull(); // the dot is literal
    expect(commandText(msg('ship.it: deploy api'), opts)).toBeNull();
    expect(commandText(msg('<@UOTHER> locks'), other)).toBe('locks');
    expect(commandText(msg('deckhand deploy api'), { botName: 'deckhand', prefix: '!' })).toBe('deploy api');
    expect(commandText(msg('<@UBOT> deploy api'), { botName: 'deckhand', prefix: '!' })).toBeNull(); // no id: no mention
  });
});
