// Signals and liveness checks for a whole process group (a child spawned detached leads its own group).
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode } from '../errors.js';

const pollIntervalMs = 25;
/** How long to wait for the kernel to finish off a SIGKILLed group. */
const killSettleMs = 2000;

/** Sends a signal to every process of the group; false when the group no longer exists.
 * Signal 0 only checks that the group exists. */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ESRCH') return false;
    // EPERM: a member changed its credentials; the others were still signalled.
    if (errorCode(error) === 'EPERM') return true;
    throw error;
  }
}

/** Whether a live (non-zombie) process is still in the group. */
export async function isProcessGroupAlive(pgid: number): Promise<boolean> {
  if (!signalProcessGroup(pgid, 0)) return false;
  // kill() also counts zombies, which linger where PID 1 does not reap orphans (containers): ask /proc.
  const members = await listLiveGroupMembers(pgid);
  return members === undefined || members.length > 0;
}

/** Live pids of the group from /proc, or undefined where /proc is unavailable. */
export async function listLiveGroupMembers(pgid: number): Promise<number[] | undefined> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return undefined;
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readProcStat(entry);
    if (stat !== undefined && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(Number(entry));
  }
  return members;
}

export async function waitForProcessGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isProcessGroupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(pollIntervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** SIGTERM to the group, SIGKILL after graceMs if anything is left, then wait until it is gone. */
export async function terminateProcessGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalProcessGroup(pgid, 'SIGTERM')) return;
  if (await waitForProcessGroupExit(pgid, graceMs)) return;
  if (!signalProcessGroup(pgid, 'SIGKILL')) return;
  await waitForProcessGroupExit(pgid, killSettleMs);
}

async function readProcStat(pid: string): Promise<{ state: string; pgid: number } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited while we looked
  }
  // The command name in parentheses may contain spaces: the fields after the last ')' are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgid = Number(fields[2]);
  if (state === undefined || !Number.isInteger(pgid)) return undefined;
  return { state, pgid };
}
