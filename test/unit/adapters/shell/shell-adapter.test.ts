import { PassThrough } from 'node:stream';
import { ShellAdapter } from '../../../../adapters/shell/shell-adapter.js';
import type { AnyEvent } from '../../../../src/core/events.js';
import type { Deployment, Incident } from '../../../../src/core/model.js';

/** A terminal adapter printing into a string (not a TTY: lines are written as they come). */
function terminal() {
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
  const shell = new ShellAdapter({ input: new PassThrough(), output, user: 'shell:tester', botName: 'deckhand', publicUrl: () => 'http://127.0.0.1:3000' });
  return { shell, printed: () => printed };
}

let eventId = 0;
const event = (type: AnyEvent['type'], data: unknown): AnyEvent => ({ id: ++eventId, type, at: '2026-11-23T10:00:00.000Z', source: 'test', data }) as AnyEvent;

const deployment: Deployment = {
  id: 7, app: 'web', environment: 'production', ref: '1.7.0', state: 'succeeded', provider: 'external:octopus', source: 'webhook',
  requestedBy: 'octopus:carol', room: null, dryRun: false, forced: false, rollbackOf: null, createdAt: '2026-11-23T10:00:00.000Z',
  startedAt: null, finishedAt: '2026-11-23T10:00:30.000Z', exitCode: null, reason: null, logTail: null, origin: null, logToken: 'tok',
  external: { system: 'octopus', id: 'Deployments-20' },
};

const incident: Incident = {
  entityId: 'disk/db-1', generation: 1, number: '12', phase: 'triggered', title: 'Disk full', message: null, routingKey: 'ops', by: null, updatedAt: '2026-11-23T10:00:00.000Z',
};

// eslint-disable-next-line no-control-regex -- the test looks for control characters
const anyControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('ShellAdapter: what reaches the terminal', () => {
  test('a reaction\'s chat text with escape sequences is shown, not obeyed; its newlines stay', async () => {
    const { shell, printed } = terminal();
    await shell.chat.post('#ops', 'deployed\u001b[2J\u001b]8;;https://evil.example/\u0007here\u001b]8;;\u0007\nclipboard \u001b]52;c;cm0gLXJmIH4=\u0007\u0007 done\rOK');
    await shell.chat.react('#ops', '1700000000.000100', 'tada\u009b2J');
    expect(printed()).toBe(
      '[#ops] deployed\\x1b[2J\\x1b]8;;https://evil.example/\\x07here\\x1b]8;;\\x07\nclipboard \\x1b]52;c;cm0gLXJmIH4=\\x07\\x07 done\\x0dOK\n' +
        '[#ops] :tada\\x9b2J: on 1700000000.000100\n',
    );
  });

  test('notices: refs, reasons, log tails and incident titles from webhooks are shown safely', () => {
    const { shell, printed } = terminal();
    const hostile = { ...deployment, ref: 'v1\u001b[8m', state: 'failed' as const, startedAt: '2026-11-23T10:00:01.000Z', reason: 'boom\u0007\u001b]0;pwned\u0007', logTail: 'step 1\n\u001b[1Aok\r\nstep 2\u009b2K' };
    shell.onEvent(event('deployment.failed', { deployment: hostile }));
    shell.onEvent(event('incident.triggered', { incident: { ...incident, title: 'Disk\u001b[2J full', message: 'see \u001b]8;;https://evil.example/\u0007runbook' } }));
    shell.onEvent(event('lock.acquired', { lock: { environment: 'production', app: null, holder: 'shell:tester', reason: 'db\rmigration', since: '2026-11-23T10:00:00.000Z' }, previous: null }));
    const out = printed();
    expect(out).not.toMatch(anyControl);
    expect(out).toContain('[deploy] #7 web/v1\\x1b[8m to production: failed: boom\\x07\\x1b]0;pwned\\x07\n');
    expect(out).toContain('  last output:\n  | step 1\n  | \\x1b[1Aok\n  | step 2\\x9b2K\n');
    expect(out).toContain('[incident 12] Disk\\x1b[2J full: triggered — see \\x1b]8;;https://evil.example/\\x07runbook\n');
    expect(out).toContain('[lock] production locked by shell:tester (db\\x0dmigration)\n');
  });

  test('script output lines are shown safely too', () => {
    const { shell, printed } = terminal();
    shell.onOutput(deployment, '\u001b[32mcompiled\u001b[0m\u0007');
    expect(printed()).toBe('  #7 | \\x1b[32mcompiled\\x1b[0m\\x07\n');
  });

  test('a deployment known only from its Succeeded event says "succeeded", without "in ?"', () => {
    const { shell, printed } = terminal();
    shell.onEvent(event('deployment.succeeded', { deployment }));
    shell.onEvent(event('deployment.succeeded', { deployment: { ...deployment, id: 8, startedAt: '2026-11-23T10:00:18.000Z' } }));
    expect(printed()).toBe('[deploy] #7 web/1.7.0 to production: succeeded\n[deploy] #8 web/1.7.0 to production: succeeded in 12s\n');
  });

  test('an incident resolved without an author is "resolved"; with one, "resolved by"', () => {
    const { shell, printed } = terminal();
    shell.onEvent(event('incident.resolved', { incident: { ...incident, phase: 'resolved', by: null } }));
    shell.onEvent(event('incident.resolved', { incident: { ...incident, phase: 'resolved', by: 'asmith' } }));
    expect(printed()).toBe('[incident 12] Disk full: resolved\n[incident 12] Disk full: resolved by asmith\n');
  });
});
