import path from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { projectRoot } from '../../../src/app.js';
import { createLogger } from '../../../src/core/logger.js';
import { createDispatcher } from '../../../src/router/dispatch.js';
import { loadCommands } from '../../../src/router/load-commands.js';
import { createRouter } from '../../../src/router/router.js';
import { defineCommand, type ChatMessage, type CommandDefinition } from '../../../src/router/types.js';
import { createHarness } from '../../fixtures/harness.js';

async function setup(extra: CommandDefinition[] = []) {
  const h = await createHarness();
  const logLines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) });
  const logger = createLogger('error', sink);
  const router = createRouter([...(await loadCommands(path.join(projectRoot, 'commands'))), ...extra]);
  const dispatcher = createDispatcher({ router, actions: h.actions, config: h.config, clock: h.clock, logger, botUserId: 'UBOT' });
  let n = 0;
  const say = async (text: string, user = 'bob', isDirect = true) => {
    const message: ChatMessage = { id: String(++n), user, room: 'C1', text, isDirect, adapter: 'test' };
    return (await dispatcher.handle(message))?.text ?? null;
  };
  return { h, say, logLines };
}

describe('dispatcher', () => {
  test('messages in a channel are only handled when addressed to the bot', async () => {
    const { say } = await setup();
    expect(await say('deploy hello', 'bob', false)).toBeNull();
    expect(await say('<@UBOT> whoami', 'bob', false)).toBe('You are bob. Roles: leads. Permissions: deploy:*, force:*, lock:*.');
    expect(await say('!whoami', 'carol', false)).toMatch(/You are carol\. You have no roles/);
  });

  test('unknown commands, usage and argument errors come from the declarations', async () => {
    const { say } = await setup();
    expect(await say('depoly hello')).toBe('I don\'t know the command "depoly". Did you mean: deploy? Say "help" for the list.');
    expect(await say('deploy')).toMatch(/^Usage: deploy <app>\[\/<ref>\] \[to <environment>\]\n/);
    expect(await say('help nothing')).toMatch(/I don't know the command "nothing"/);
    expect(await say('help deploy')).toContain('Needs permission: deploy:<environment>');
  });

  test('errors from actions become one clear reply', async () => {
    const { say } = await setup();
    expect(await say('deploy nosuchapp to staging')).toBe('I don\'t know an app called "nosuchapp". Known apps: hello, api.');
    expect(await say('deploy hello to prod', 'alice')).toBe(
      'You (alice) are not allowed to do that: it needs deploy:production. Roles that have it: leads.',
    );
  });

  test('lock! asks for confirmation; yes runs it, anything else drops it', async () => {
    const { h, say } = await setup();
    await say('lock staging because testing', 'alice');
    expect(await say('lock! staging because incident')).toMatch(/^Take over the lock on staging from its holder\?\nReply "yes"/);
    expect((await h.store.getLock('staging', null))?.holder).toBe('alice');
    expect(await say('no')).toBe('OK, cancelled lock.');
    expect(await say('yes')).toMatch(/I don't know the command "yes"/);
    await say('lock! staging because incident');
    expect(await say('yes')).toBe('Locked staging because incident (taken over from alice, who has been told).');
    expect((await h.store.getLock('staging', null))?.holder).toBe('bob');
  });

  test('a confirmation expires', async () => {
    const { h, say } = await setup();
    await say('lock staging', 'alice');
    await say('lock! staging');
    h.clock.advance(121_000);
    expect(await say('yes')).toMatch(/I don't know the command "yes"/);
    expect((await h.store.getLock('staging', null))?.holder).toBe('alice');
  });

  test('an unexpected failure answers with an error id that is in the log', async () => {
    const boom = defineCommand({
      id: 'boom',
      summary: 'fails',
      phrases: ['boom'],
      args: z.object({}),
      examples: [],
      run: () => {
        throw new Error('database on fire');
      },
    });
    const { say, logLines } = await setup([boom as CommandDefinition]);
    const reply = await say('boom');
    const id = /error id ([0-9a-f]{8})/.exec(reply ?? '')?.[1];
    expect(id).toBeDefined();
    expect(reply).not.toContain('database on fire');
    expect(logLines.join('')).toContain(`"errorId":"${id}"`);
    expect(logLines.join('')).toContain('database on fire');
  });
});
