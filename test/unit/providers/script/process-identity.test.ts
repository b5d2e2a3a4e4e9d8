import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../../../src/app.js';
import { describeProcessGroup, groupState, pidScope, stopRecordedGroup } from '../../../../src/providers/script/process-identity.js';
import { until } from '../../../fixtures/in-process.js';

/** Real process groups (Linux): what recovery may signal, and what it must leave alone. */
const linux = process.platform === 'linux' && pidScope() !== null;
const onLinux = linux ? describe : describe.skip;

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'deckhand-pgid-'));

/** True while the pid exists (a zombie included). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

onLinux('recorded process groups', () => {
  const started: number[] = [];
  afterEach(() => {
    for (const pgid of started.splice(0)) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  /** A detached child: the leader of its own group, like a deploy script. */
  function group(command: string, args: string[]): number {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    started.push(child.pid!);
    return child.pid!;
  }

  test('a running group is ours and stops; a record with another leader start is never signalled', async () => {
    const pgid = group('sleep', ['30']);
    const proc = describeProcessGroup(pgid);
    expect(proc).toMatchObject({ pgid, pidScope: pidScope(), leaderStart: expect.stringMatching(/^\d+$/) });
    expect(groupState(proc)).toBe('ours');
    // The same number, but recorded for a process that started at another time: a reused pid.
    const reused = { ...proc, leaderStart: '1' };
    expect(groupState(reused)).toBe('gone');
    expect(await stopRecordedGroup(reused, 100)).toBe('gone');
    expect(alive(pgid)).toBe(true);
    // Another pid scope (another machine, container or boot) cannot tell.
    expect(groupState({ ...proc, pidScope: 'elsewhere' })).toBe('unverifiable');
    expect(await stopRecordedGroup(proc, 1000)).toBe('gone');
    await until(() => !alive(pgid) || readFileSync(`/proc/${pgid}/stat`, 'utf8').includes(') Z'), 'the group to die');
  });

  test('SIGTERM ignored: SIGKILL after the grace', async () => {
    const dir = path.join(projectRoot, 'test/fixtures/scripts');
    const pidFile = path.join(tempDir(), 'child.pid');
    const pgid = group('bash', [path.join(dir, 'ignore-term.sh'), pidFile]);
    await until(() => {
      try {
        return readFileSync(pidFile, 'utf8').trim() !== '';
      } catch {
        return false;
      }
    }, 'the script to start');
    const proc = describeProcessGroup(pgid);
    expect(await stopRecordedGroup(proc, 200)).toBe('gone');
  });

  test('a group whose leader is gone cannot be told apart from a new one: unverifiable, not signalled', async () => {
    const dir = path.join(projectRoot, 'test/fixtures/scripts');
    const pidFile = path.join(tempDir(), 'left.pid');
    const pgid = group('bash', [path.join(dir, 'leave-child.sh'), pidFile]);
    const proc = describeProcessGroup(pgid);
    await until(() => {
      try {
        return readFileSync(pidFile, 'utf8').trim() !== '' && !alive(pgid);
      } catch {
        return false;
      }
    }, 'the leader to exit, leaving its child');
    const child = Number(readFileSync(pidFile, 'utf8').trim());
    expect(groupState(proc)).toBe('unverifiable');
    expect(await stopRecordedGroup(proc, 100)).toBe('unverifiable');
    expect(alive(child)).toBe(true);
  });
});

