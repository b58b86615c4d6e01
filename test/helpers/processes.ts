// Processes for tests: inspection straight from /proc (no process outlived its timeout), quiet kills, a pid already gone.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';

/** Alive and not a zombie (orphaned zombies linger where PID 1 does not reap them). */
export function isProcessAlive(pid: number): boolean {
  const stat = readStatFields(String(pid));
  return stat !== undefined && stat[0] !== 'Z';
}

/** Live pids whose process group is pgid, straight from /proc. */
export function liveGroupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      const stat = readStatFields(entry);
      return stat !== undefined && stat[0] !== 'Z' && Number(stat[2]) === pgid;
    })
    .map(Number);
}

/** The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, … */
function readStatFields(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The pid of a process that has exited and been reaped, as a crashed lock holder leaves behind. */
export async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/**
 * Samples a process's peak resident memory (VmHWM, a high-water mark the kernel keeps) while it runs; `stop`
 * answers the largest value seen, in bytes. The last sample before the exit is within one interval of the end.
 */
export function watchPeakMemory(pid: number, intervalMs = 25): { stop(): number } {
  let peak = 0;
  const sample = (): void => {
    try {
      const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) peak = Math.max(peak, Number(match[1]) * 1024);
    } catch {
      // exited
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}
