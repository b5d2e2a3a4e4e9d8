import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import type { ScriptProcess } from '../../core/model.js';
import { isGroupAlive, terminateGroup } from './process-group.js';

/**
 * Who a process group is, beyond its number, so that a Deckhand that took over a dead one's
 * deployment can check and stop that deployment's script — and never signal an unrelated group
 * that happens to have the same id now. Linux only (it reads /proc); elsewhere every answer is
 * "cannot tell", and callers then wait instead of signalling.
 */

/** What a recovery can say of a recorded group. */
export type GroupState =
  /** No process of it is left (zombies aside): the script has ended. */
  | 'gone'
  /** Its leader is the very process that was recorded: it is ours to stop. */
  | 'ours'
  /** A group with that id exists but its leader cannot be matched (gone, or unreadable): wait. */
  | 'unverifiable';

let scope: string | null | undefined;

/**
 * Equal for two processes exactly when they see the same pids: the kernel's boot id and the pid
 * namespace (two containers on one machine, or one machine before and after a reboot, differ).
 * Null where that cannot be known.
 */
export function pidScope(): string | null {
  if (scope !== undefined) return scope;
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const namespace = readlinkSync('/proc/self/ns/pid');
    scope = `${boot}/${namespace}`;
  } catch {
    scope = null;
  }
  return scope;
}

interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  startTime: string;
}

/** /proc/<pid>/stat, parsed; the command name (field 2) may hold spaces and parentheses, so fields are counted from its closing one. */
function readStat(pid: number | string): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(3) ppid(4) pgrp(5) ... starttime(22).
  const [state, , pgrp] = rest;
  const startTime = rest[19];
  if (state === undefined || pgrp === undefined || startTime === undefined) return null;
  return { pid: Number(pid), state, pgrp: Number(pgrp), startTime };
}

/** The recorded identity of a group whose leader was just spawned (pgid = the leader's pid). */
export function describeProcessGroup(pgid: number): ScriptProcess {
  const currentScope = pidScope();
  return { host: os.hostname(), pidScope: currentScope, pgid, leaderStart: currentScope === null ? null : (readStat(pgid)?.startTime ?? null) };
}

/** True when `proc` was recorded in this process's pid scope, so its pids mean the same here. */
export function inThisScope(proc: ScriptProcess): boolean {
  return proc.pidScope !== null && proc.pidScope === pidScope();
}

/** Processes of group `pgid` that are not zombies (a zombie runs nothing; it waits for its parent to reap it). */
function liveMembers(pgid: number): ProcStat[] {
  const members: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(stat);
  }
  return members;
}

/**
 * What is left of a recorded group. Only meaningful in the same pid scope (inThisScope). A pid
 * stays reserved on Linux while any process has it as its group id, so a leader with another
 * start time means the recorded group ended before that pid was handed out again.
 */
export function groupState(proc: ScriptProcess): GroupState {
  if (!inThisScope(proc)) return 'unverifiable';
  if (!isGroupAlive(proc.pgid)) return 'gone';
  let members: ProcStat[];
  try {
    members = liveMembers(proc.pgid);
  } catch {
    return 'unverifiable';
  }
  if (members.length === 0) return 'gone';
  const leader = readStat(proc.pgid);
  if (leader === null || proc.leaderStart === null) return 'unverifiable';
  return leader.startTime === proc.leaderStart ? 'ours' : 'gone';
}

/**
 * Stops a recorded group that is verifiably ours: SIGTERM, SIGKILL after `graceMs` if anything is
 * left, then waits (up to `settleMs`) until nothing is. Resolves what is left: 'gone' once it is.
 */
export async function stopRecordedGroup(proc: ScriptProcess, graceMs: number, settleMs = 5000): Promise<GroupState> {
  const before = groupState(proc);
  if (before !== 'ours') return before;
  await terminateGroup(proc.pgid, graceMs);
  const end = Date.now() + settleMs;
  for (;;) {
    const state = groupState(proc);
    if (state === 'gone' || Date.now() > end) return state;
    await new Promise((r) => setTimeout(r, 50));
  }
}
