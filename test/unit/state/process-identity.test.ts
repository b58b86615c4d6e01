// Tests for pid liveness and /proc start times, including command names with spaces and parentheses.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessRunning, processStartTime } from '../../../src/state/process-identity.js';
import { exitedPid } from '../../helpers/processes.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('processStartTime', () => {
  it('reads field 22 of /proc/<pid>/stat for this process', async () => {
    const startTime = await processStartTime(process.pid);
    expect(startTime).toMatch(/^\d+$/);
  });

  it('counts fields after the last ")" so a command name with spaces and parentheses does not shift them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pulldeploy-proc-'));
    dirs.push(dir);
    const oddName = join(dir, 'a) b (c');
    await copyFile('/bin/sleep', oddName);
    await chmod(oddName, 0o755);
    const child = spawn(oddName, ['30']);
    children.push(child);
    await once(child, 'spawn');
    const own = Number(await processStartTime(process.pid));
    const child22 = Number(await processStartTime(child.pid!));
    // Started after this process: a shifted field would give a small unrelated number (threads, priority).
    expect(child22).toBeGreaterThanOrEqual(own);
  });

  it('is undefined for a process that does not exist', async () => {
    expect(await processStartTime(await exitedPid())).toBeUndefined();
  });
});

describe('isProcessRunning', () => {
  it('is true for this process, with or without its recorded start time', async () => {
    expect(await isProcessRunning(process.pid, undefined)).toBe(true);
    expect(await isProcessRunning(process.pid, await processStartTime(process.pid))).toBe(true);
  });

  it('is false for a pid that has exited', async () => {
    expect(await isProcessRunning(await exitedPid(), undefined)).toBe(false);
  });

  it('is false when the pid now belongs to a process with another start time', async () => {
    expect(await isProcessRunning(process.pid, '1')).toBe(false);
  });

  it('is false for pids that would signal process groups', async () => {
    expect(await isProcessRunning(0, undefined)).toBe(false);
    expect(await isProcessRunning(-1, undefined)).toBe(false);
    expect(await isProcessRunning(1.5, undefined)).toBe(false);
  });
});
