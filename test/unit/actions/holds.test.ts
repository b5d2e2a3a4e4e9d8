import path from 'node:path';
import { projectRoot } from '../../../src/app.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { ScriptProcess } from '../../../src/core/model.js';
import { createDispatcher } from '../../../src/router/dispatch.js';
import { loadCommands } from '../../../src/router/load-commands.js';
import { createRouter } from '../../../src/router/router.js';
import type { ChatMessage } from '../../../src/router/types.js';
import { createHarness } from '../../fixtures/harness.js';

type Harness = Awaited<ReturnType<typeof createHarness>>;

const alice = { id: 'alice', room: 'shell' }; // deploy:staging, no force
const bob = { id: 'bob', room: 'shell' }; // force:*
const elsewhere: ScriptProcess = { host: 'build-7', pidScope: 'another-machine', pgid: 4242, leaderStart: '99' };

/**
 * What recovery leaves behind when a Deckhand dies mid-deployment: instance `dead` claimed
 * hello/<environment>, its script started on build-7, then it stopped; the deployment is taken over
 * as interrupted and holds the target for an hour.
 */
async function interrupted(h: Harness, environment = 'staging', proc: ScriptProcess | null = elsewhere) {
  const now = h.clock.now().toISOString();
  const owner = `dead-${environment}`;
  await h.store.registerInstance({ id: owner, host: 'build-7', pidScope: 'another-machine', pid: 100, startedAt: now, expiresAt: new Date(h.clock.now().getTime() + 30_000).toISOString() });
  const d = await h.store.createDeployment({ app: 'hello', environment, ref: 'v1', provider: 'script', source: 'chat', requestedBy: 'alice', createdAt: now });
  await h.store.claimNextDeployment('hello', environment, now, { owner, deadline: null });
  if (proc) await h.store.recordDeploymentProcess(d.id, owner, proc);
  await h.store.stopInstance(owner, now);
  const holdUntil = new Date(h.clock.now().getTime() + 3_600_000).toISOString();
  const reason = `interrupted — outcome unknown: the Deckhand running it (${owner}) stopped before it finished`;
  const taken = await h.store.takeOverDeployment(d.id, now, { state: 'failed', finishedAt: now, reason }, holdUntil);
  expect(taken?.state).toBe('failed');
  return d.id;
}

async function chat(h: Harness) {
  const router = createRouter(await loadCommands(path.join(projectRoot, 'commands')));
  const dispatcher = createDispatcher({ router, actions: h.actions, config: h.config, clock: h.clock, logger: silentLogger, store: h.store });
  let n = 0;
  return {
    router,
    say: async (text: string, user = 'bob') => {
      const message: ChatMessage = { id: String(++n), user, room: 'shell', text, isDirect: true, adapter: 'test' };
      return (await dispatcher.handle(message))?.text ?? '';
    },
  };
}

describe('holds: explained and released through the action layer', () => {
  test('listHolds names the interrupted deployment, where its script may run and until when; a lapsed hold is not listed', async () => {
    const h = await createHarness();
    expect(await h.actions.listHolds()).toEqual([]);
    const id = await interrupted(h);
    const [hold, ...rest] = await h.actions.listHolds();
    expect(rest).toEqual([]);
    expect(hold).toMatchObject({ deployment: { id, app: 'hello', environment: 'staging', state: 'failed' }, owner: 'dead-staging', process: elsewhere, heldUntil: '2026-11-23T11:00:00.000Z' });
    expect(await h.actions.holdOn('hello', 'staging')).toMatchObject({ deployment: { id } });
    expect(await h.actions.holdOn('hello', 'production')).toBeNull();
    h.clock.advance(3_600_000);
    expect(await h.actions.listHolds()).toEqual([]);
  });

  test('a deploy to a held target queues, says why it waits, and does not start', async () => {
    const h = await createHarness();
    const id = await interrupted(h);
    const { deployment, heldBy, waitingFor } = await h.actions.deploy(alice, { app: 'hello', ref: 'v2' });
    expect(waitingFor).toBeNull();
    expect(heldBy?.deployment.id).toBe(id);
    await h.runner.idle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('queued');
    expect(h.provider.started).toEqual([]);
    // Another target is not held.
    expect((await h.actions.deploy(bob, { app: 'hello', ref: 'v2', environment: 'production' })).heldBy).toBeNull();
  });

  test('release needs force:<environment>; a refusal is audited and the hold stays', async () => {
    const h = await createHarness();
    await interrupted(h);
    await expect(h.actions.releaseHold(alice, { app: 'hello', environment: 'stg' })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
      message: 'You (alice) are not allowed to do that: it needs force:staging. Roles that have it: leads.',
    });
    expect(await h.store.listAudit({ action: 'hold.release' })).toEqual([expect.objectContaining({ actor: 'alice', outcome: 'denied', target: 'hello in staging' })]);
    expect(await h.actions.listHolds()).toHaveLength(1);
  });

  test('release ends the hold, is audited, and the waiting deployment starts', async () => {
    const h = await createHarness();
    const id = await interrupted(h);
    const { deployment } = await h.actions.deploy(alice, { app: 'hello', ref: 'v2' });
    await h.runner.idle();
    expect(h.provider.started).toEqual([]);
    const result = await h.actions.releaseHold(bob, { app: 'hello', environment: 'staging' });
    expect(result).toMatchObject({ app: 'hello', environment: 'staging', released: [{ deployment: { id } }] });
    await h.provider.untilStarted(1);
    expect(h.provider.started.map((d) => d.id)).toEqual([deployment.id]);
    expect(await h.actions.listHolds()).toEqual([]);
    expect(await h.store.listAudit({ action: 'hold.release' })).toEqual([
      expect.objectContaining({ actor: 'bob', outcome: 'ok', target: 'hello in staging', details: { deployments: [id], heldUntil: ['2026-11-23T11:00:00.000Z'], scripts: ['build-7:4242'] } }),
    ]);
    // Nothing holds it any more: a second release says so.
    await expect(h.actions.releaseHold(bob, { app: 'hello', environment: 'staging' })).rejects.toMatchObject({ code: ErrorCode.NotFound, message: 'Nothing holds hello in staging: its deployments can start as usual.' });
    h.provider.finish(deployment.id);
    await h.runner.idle();
  });

  test('without an environment: the one where the app is held; two held environments must be named', async () => {
    const h = await createHarness();
    await expect(h.actions.previewReleaseHold(bob, { app: 'hello' })).rejects.toMatchObject({ code: ErrorCode.NotFound, message: 'Nothing holds hello: its deployments can start as usual.' });
    await interrupted(h, 'production', null);
    expect(await h.actions.previewReleaseHold(bob, { app: 'hello' })).toMatchObject({ environment: 'production' });
    await interrupted(h, 'staging');
    await expect(h.actions.previewReleaseHold(bob, { app: 'hello' })).rejects.toMatchObject({ code: ErrorCode.Usage, message: 'hello is held in production and staging: say which, e.g. "release hold hello in production".' });
    await expect(h.actions.previewReleaseHold(bob, { app: 'nosuch' })).rejects.toMatchObject({ code: ErrorCode.UnknownApp });
    await expect(h.actions.previewReleaseHold(bob, { app: 'hello', environment: 'qa' })).rejects.toMatchObject({ code: ErrorCode.UnknownEnvironment });
  });
});

describe('holds and release hold in chat', () => {
  test('the phrases route to the commands', async () => {
    const { router } = await chat(await createHarness());
    const route = (text: string) => {
      const r = router.route(text);
      return r.kind === 'match' ? [r.command.id, r.values] : [r.kind];
    };
    expect(route('holds')).toEqual(['holds', {}]);
    expect(route('release hold api in production')).toEqual(['release-hold', { app: 'api', environment: 'production' }]);
    expect(route('release hold api to prod')).toEqual(['release-hold', { app: 'api', environment: 'prod' }]);
    expect(route('Release  Hold api')).toEqual(['release-hold', { app: 'api' }]);
    expect(route('release hold')).toEqual(['usage']);
    expect(route('release hold api on prod')).toEqual(['usage']);
  });

  test('deploy explains the hold; holds lists it; release hold asks, then releases and the deployment starts', async () => {
    const h = await createHarness();
    const { say } = await chat(h);
    expect(await say('holds')).toBe('Nothing is held: every target can deploy as usual.');
    const id = await interrupted(h);
    h.clock.advance(2 * 60_000);
    const why = `hello in staging is held by #${id} (hello/v1, interrupted — outcome unknown: the Deckhand running it (dead-staging) stopped before it finished): its script may still be running on build-7 (pid 4242). Held until 2026-11-23 11:00 UTC (in 58 minutes) at the latest, or until that script is seen to end.`;
    const hint = 'If you know its script is not running, "release hold hello in staging" ends the hold (needs force:staging).';
    expect(await say('deploy hello/v2', 'alice')).toBe(`Deployment #${id + 1} hello/v2 to staging queued.\nIt waits: ${why} ${hint}`);
    expect(await say('holds', 'alice')).toBe(`Held targets (deployments there wait):\n  ${why}\n    ${hint}`);

    expect(await say('release hold hello in stg', 'alice')).toBe('You (alice) are not allowed to do that: it needs force:staging. Roles that have it: leads.');
    expect(await say('release hold hello to staging')).toBe(
      `Release the hold on hello in staging? #${id} was interrupted and its script may still be running on build-7 (pid 4242). The next deployment there starts at once — the script may still be running.\nReply "yes" to go ahead or "no" to cancel (within 120 seconds).`,
    );
    expect(await say('no')).toBe('OK, cancelled release-hold.');
    expect(await h.actions.listHolds()).toHaveLength(1);
    expect(h.provider.started).toEqual([]);

    await say('release hold hello');
    expect(await say('yes')).toBe(`Released the hold on hello in staging (kept by #${id}); its next deployment may start now. Audited.`);
    await h.provider.untilStarted(1);
    expect(h.provider.started.map((d) => d.ref)).toEqual(['v2']);
    expect(await say('holds')).toBe('Nothing is held: every target can deploy as usual.');
    expect(await say('release hold hello')).toBe('Nothing holds hello: its deployments can start as usual.');
    h.provider.finish(id + 1);
    await h.runner.idle();
  });

  test('help lists both commands (help is built from the declarations) with their permission', async () => {
    const { say } = await chat(await createHarness());
    const help = await say('help');
    expect(help).toContain('  holds  — List the targets held by an interrupted deployment whose script may still be running');
    expect(help).toContain('  release hold <app> [in <environment>]  — End the hold an interrupted deployment keeps on its target');
    expect(await say('help release hold')).toContain('Needs permission: force:<environment>');
  });
});
