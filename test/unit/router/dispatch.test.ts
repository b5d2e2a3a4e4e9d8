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
  /** Another Deckhand process on the same store: its own dispatcher, nothing in memory shared. */
  const replica = () => createDispatcher({ router, actions: h.actions, config: h.config, clock: h.clock, logger, store: h.store, botUserId: 'UBOT' });
  const dispatcher = replica();
  let n = 0;
  const sayTo = async (to: ReturnType<typeof replica>, text: string, user = 'bob', room = 'C1') => {
    const message: ChatMessage = { id: String(++n), user, room, text, isDirect: true, adapter: 'test' };
    return (await to.handle(message))?.text ?? null;
  };
  const say = async (text: string, user = 'bob', isDirect = true) => {
    const message: ChatMessage = { id: String(++n), user, room: 'C1', text, isDirect, adapter: 'test' };
    return (await dispatcher.handle(message))?.text ?? null;
  };
  return { h, say, sayTo, replica, logLines };
}

/**
 * "ship <app> to <environment>": deploys like "deploy", but asks first for production. The
 * deployments in the store count how often it really ran.
 */
const ship = defineCommand({
  id: 'ship',
  summary: 'deploy, asking first for production',
  phrases: ['ship <app> [to <environment>]'],
  args: z.object({ app: z.string().toLowerCase(), environment: z.string().toLowerCase().optional() }),
  examples: [],
  confirm: (args) => (args.environment === 'production' ? `Deploy ${args.app} to production?` : null),
  async run(args, { actions, actor }) {
    const { deployment } = await actions.deploy(actor, { ...args, source: 'chat' });
    return `Deployment #${deployment.id} of ${deployment.app} to ${deployment.environment} created.`;
  },
});

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
    expect(await say('yes')).toBe('There is no question waiting for your answer here (a question stays open for 120 seconds).');
    await say('lock! staging because incident');
    expect(await say('yes')).toBe('Locked staging because incident (taken over from alice, who has been told).');
    expect((await h.store.getLock('staging', null))?.holder).toBe('bob');
  });

  test('a confirmation expires', async () => {
    const { h, say } = await setup();
    await say('lock staging', 'alice');
    await say('lock! staging');
    h.clock.advance(121_000);
    expect(await say('yes')).toBe('There is no question waiting for your answer here (a question stays open for 120 seconds).');
    expect((await h.store.getLock('staging', null))?.holder).toBe('alice');
  });

  describe('confirmations live in the store, shared by every process', () => {
    const asked = 'Deploy hello to production?\nReply "yes" to go ahead or "no" to cancel (within 120 seconds).';
    const deployments = async (h: Awaited<ReturnType<typeof setup>>['h']) => (await h.store.listDeployments({ limit: 100 })).map((d) => `${d.app}/${d.environment} by ${d.requestedBy}`);

    test('"ship hello to production" asks; "yes" from the same user in the same room runs it, once', async () => {
      const { h, say } = await setup([ship as CommandDefinition]);
      expect(await say('ship hello to production')).toBe(asked);
      expect(await deployments(h)).toEqual([]);
      expect(await say('yes')).toBe('Deployment #1 of hello to production created.');
      expect(await deployments(h)).toEqual(['hello/production by bob']);
      expect(await say('yes')).toMatch(/^There is no question waiting/);
      expect(await deployments(h)).toHaveLength(1);
      expect(await say('ship hello to staging')).toBe('Deployment #2 of hello to staging created.'); // no question asked
    });

    test('the "yes" reaching another replica runs it there, exactly once, even when both get it', async () => {
      const { h, say, sayTo, replica } = await setup([ship as CommandDefinition]);
      const [b, c] = [replica(), replica()];
      expect(await say('ship hello to production')).toBe(asked);
      expect(await sayTo(b, 'yes')).toBe('Deployment #1 of hello to production created.');
      expect(await deployments(h)).toEqual(['hello/production by bob']);

      // A duplicated "yes" delivered to two replicas at once: one runs it, the other says nothing waits.
      expect(await sayTo(c, 'ship hello to production')).toBe(asked);
      const replies = await Promise.all([sayTo(b, 'yes'), sayTo(c, 'yes')]);
      expect(replies.filter((r) => r === 'Deployment #2 of hello to production created.')).toHaveLength(1);
      expect(replies.filter((r) => r?.startsWith('There is no question waiting'))).toHaveLength(1);
      expect(await deployments(h)).toHaveLength(2);
    });

    test('a "yes" after the question expired does nothing and says so', async () => {
      const { h, say, sayTo, replica } = await setup([ship as CommandDefinition]);
      await say('ship hello to production');
      h.clock.advance(119_999);
      h.clock.advance(1); // expires at exactly 120 seconds
      expect(await sayTo(replica(), 'yes')).toBe('There is no question waiting for your answer here (a question stays open for 120 seconds).');
      expect(await deployments(h)).toEqual([]);
    });

    test('a "yes" just before expiry still counts', async () => {
      const { h, say } = await setup([ship as CommandDefinition]);
      await say('ship hello to production');
      h.clock.advance(119_999);
      expect(await say('yes')).toBe('Deployment #1 of hello to production created.');
    });

    test('"no" cancels, on any replica', async () => {
      const { h, say, sayTo, replica } = await setup([ship as CommandDefinition]);
      await say('ship hello to production');
      expect(await sayTo(replica(), 'no')).toBe('OK, cancelled ship.');
      expect(await say('yes')).toMatch(/^There is no question waiting/);
      expect(await deployments(h)).toEqual([]);
    });

    test('a second question replaces the first', async () => {
      const { h, say, sayTo, replica } = await setup([ship as CommandDefinition]);
      await say('lock staging', 'alice');
      expect(await say('lock! staging')).toMatch(/^Take over the lock on staging/);
      expect(await sayTo(replica(), 'ship hello to production')).toBe(asked);
      expect(await say('yes')).toBe('Deployment #1 of hello to production created.');
      expect(await say('yes')).toMatch(/^There is no question waiting/);
      expect(await deployments(h)).toEqual(['hello/production by bob']);
      expect((await h.store.getLock('staging', null))?.holder).toBe('alice'); // the first question was not run
    });

    test("another user's yes, or the same user's in another room, does not confirm", async () => {
      const { h, say, sayTo, replica } = await setup([ship as CommandDefinition]);
      await say('ship hello to production');
      expect(await sayTo(replica(), 'yes', 'alice')).toMatch(/^There is no question waiting/);
      expect(await sayTo(replica(), 'yes', 'bob', 'C2')).toMatch(/^There is no question waiting/);
      expect(await deployments(h)).toEqual([]);
      expect(await say('yes')).toBe('Deployment #1 of hello to production created.'); // still bob's to answer
      expect(await deployments(h)).toEqual(['hello/production by bob']);
    });

    test('another command drops the question, as before', async () => {
      const { h, say } = await setup([ship as CommandDefinition]);
      await say('ship hello to production');
      expect(await say('whoami')).toMatch(/^You are bob/);
      expect(await say('yes')).toMatch(/^There is no question waiting/);
      expect(await deployments(h)).toEqual([]);
    });

    test('the confirmed command is parsed again from its text, phrase values included (lock! keeps takeover)', async () => {
      const { h, say, sayTo, replica } = await setup();
      await say('lock staging', 'alice');
      await say('lock! staging because incident');
      expect(await h.store.takeConfirmation(JSON.stringify(['test', 'bob', 'C1']), h.clock.now().toISOString())).toMatchObject({ command: 'lock', text: 'lock! staging because incident' });
      await say('lock! staging because incident');
      expect(await sayTo(replica(), 'yes')).toBe('Locked staging because incident (taken over from alice, who has been told).');
    });

    test('a store failure while taking the question is one clear reply', async () => {
      const { h, say } = await setup([ship as CommandDefinition]);
      await h.store.close();
      expect(await say('yes')).toMatch(/^Something went wrong \(error id [0-9a-f]{8}\)/);
    });
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
