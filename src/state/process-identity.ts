// Whether a pid still names the process that wrote it: signal-0 liveness plus the /proc start time against pid reuse.
import { readFile } from 'node:fs/promises';
import { errorCode } from '../errors.js';

/**
 * Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined where /proc
 * does not answer. The command name (field 2) may hold spaces and parentheses, so fields are
 * counted from the last ")".
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const afterName = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
  // afterName[0] is field 3 (state), so field 22 is at index 19.
  return afterName[19];
}

/** False once `pid` has exited or, when a start time was recorded, has been reused by another process. */
export async function isProcessRunning(pid: number, startTime: string | undefined): Promise<boolean> {
  // kill(0) or a negative pid would signal whole process groups: such a pid never names a holder.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if (errorCode(error) !== 'EPERM') return false;
  }
  if (startTime === undefined) return true;
  const currentStartTime = await processStartTime(pid);
  // Unreadable now (exited a moment ago, or /proc hidden): assume alive; the next look decides.
  return currentStartTime === undefined || currentStartTime === startTime;
}
