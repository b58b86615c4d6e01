// Test helpers: temp dirs holding bash fixture scripts, and a check that a pid is really gone.
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const createdDirs: string[] = [];

export async function makeTempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pulldeploy-run-'));
  createdDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(createdDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Writes `#!/bin/bash` + body as an executable (or, with mode, not) file and returns its path. */
export async function writeScript(dir: string, name: string, body: string, mode = 0o755): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/bash\n${body}\n`);
  await chmod(path, mode);
  return path;
}

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

/** Numbers printed by a fixture as `child <pid>` lines. */
export function childPids(lines: readonly string[]): number[] {
  return lines.flatMap((line) => {
    const match = /^child (\d+)$/.exec(line);
    return match?.[1] === undefined ? [] : [Number(match[1])];
  });
}
