// Tests for the run lock: exclusive, busy at once or after waiting, stale holders (dead or reused pid) taken over.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusyError } from '../../../src/errors.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { acquireLock, readLockHolder, type Lock, type LockHolder } from '../../../src/state/lock.js';
import { processStartTime } from '../../../src/state/process-identity.js';
import { exitedPid } from '../../helpers/processes.js';

let dir: string;
let lockPath: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-lock-'));
  lockPath = join(dir, 'var', 'lib', 'pulldeploy', 'lock');
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function livePid(): Promise<number> {
  const child = spawn('sleep', ['60']);
  children.push(child);
  await once(child, 'spawn');
  return child.pid!;
}

/** Plants a lock file as another run (or a crash) would have left it. */
async function writeLockFile(content: string): Promise<void> {
  await mkdir(dirname(lockPath), { recursive: true });
  await writeFile(lockPath, content);
}

async function writeHolder(holder: Partial<LockHolder> & { pid: number }): Promise<void> {
  await writeLockFile(JSON.stringify({ hostname: 'other', acquired_at: '2026-11-22T03:00:00.000Z', command: 'pulldeploy deploy', ...holder }));
}

function acquire(overrides: { wait?: boolean; timeoutMs?: number } = {}): Promise<Lock> {
  return acquireLock({ path: lockPath, wait: false, timeoutMs: 0, logger: createMemoryLogger(), pollMs: 20, command: 'test', ...overrides });
}

describe('acquireLock', () => {
  it('creates the lock file (and its directory) naming this process, and release removes it', async () => {
    const lock = await acquireLock({ path: lockPath, wait: false, timeoutMs: 0, logger: createMemoryLogger(), command: 'pulldeploy check' });
    const written = JSON.parse(await readFile(lockPath, 'utf8')) as LockHolder;
    expect(written).toEqual({
      pid: process.pid,
      start_time: await processStartTime(process.pid),
      hostname: hostname(),
      acquired_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      command: 'pulldeploy check',
    });
    expect(lock.holder).toEqual(written);
    await lock.release();
    await expect(readFile(lockPath)).rejects.toThrow(/ENOENT/);
    await expect(lock.release()).resolves.toBeUndefined();
  });

  it('is released by await using', async () => {
    {
      await using lock = await acquire();
      expect(lock.path).toBe(lockPath);
      expect(await readdir(join(dir, 'var', 'lib', 'pulldeploy'))).toEqual(['lock']);
    }
    expect(await readdir(join(dir, 'var', 'lib', 'pulldeploy'))).toEqual([]);
  });

  it('without waiting, throws BusyError at once naming the holder, its start and command', async () => {
    const first = await acquireLock({ path: lockPath, wait: false, timeoutMs: 0, logger: createMemoryLogger(), command: 'pulldeploy deploy -v' });
    const startedAt = Date.now();
    const attempt = acquire();
    await expect(attempt).rejects.toThrow(BusyError);
    await expect(acquire()).rejects.toThrow(
      `another pulldeploy run (pid ${process.pid}, started ${first.holder.acquired_at}, \`pulldeploy deploy -v\`) holds ${lockPath}: ` +
        `try again when it has finished; if pid ${process.pid} is not pulldeploy, remove ${lockPath}`,
    );
    expect(Date.now() - startedAt).toBeLessThan(500);
    await first.release();
  });

  it('waiting, gets the lock once the holder releases it', async () => {
    const first = await acquire();
    setTimeout(() => void first.release(), 200);
    const startedAt = Date.now();
    const second = await acquire({ wait: true, timeoutMs: 10_000 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
    // Stamped when acquired, not when it started waiting.
    expect(Date.parse(second.holder.acquired_at)).toBeGreaterThanOrEqual(startedAt + 150);
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toEqual(second.holder);
    await second.release();
  });

  it('waiting, gives up after the timeout with BusyError saying how long it waited', async () => {
    const first = await acquire();
    const startedAt = Date.now();
    const error = await acquire({ wait: true, timeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    expect(error).toBeInstanceOf(BusyError);
    expect((error as BusyError).exitCode).toBe(5);
    expect((error as BusyError).message).toMatch(
      new RegExp(`^another pulldeploy run \\(pid ${process.pid}, .*\\) holds ${lockPath}; gave up after waiting \\d+\\.\\ds \\(--lock-timeout\\)`),
    );
    await first.release();
  });

  it('takes over the lock of a process that has exited, with a warning', async () => {
    const pid = await exitedPid();
    await writeHolder({ pid });
    const logger = createMemoryLogger();
    const lock = await acquireLock({ path: lockPath, wait: false, timeoutMs: 0, logger });
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(logger.lines).toEqual([
      { level: 'warn', message: `took over stale lock of pid ${pid} at ${lockPath}: that process is no longer running` },
    ]);
    expect(await readdir(join(dir, 'var', 'lib', 'pulldeploy'))).toEqual(['lock']);
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to a process with another start time', async () => {
    const pid = await livePid();
    await writeHolder({ pid, start_time: '1' });
    const lock = await acquire();
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it('does not take over a live holder whose start time matches', async () => {
    const pid = await livePid();
    await writeHolder({ pid, start_time: await processStartTime(pid) });
    await expect(acquire()).rejects.toThrow(`another pulldeploy run (pid ${pid}, started 2026-11-22T03:00:00.000Z, \`pulldeploy deploy\`)`);
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid });
  });

  it('does not steal a fresh unreadable lock (a holder between create and write)', async () => {
    await writeLockFile('');
    const startedAt = Date.now();
    await expect(acquire()).rejects.toThrow(
      `another pulldeploy run is creating the lock ${lockPath} (it is still empty or unreadable): try again in a few seconds`,
    );
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect(await readFile(lockPath, 'utf8')).toBe('');
  });

  it('gives a lock being written its moment even to a deploy with --lock-timeout 0, then names the holder', async () => {
    await writeLockFile('');
    const holder = await livePid();
    setTimeout(() => void writeHolder({ pid: holder }), 100);
    const error = await acquire({ wait: true, timeoutMs: 0 }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(BusyError);
    expect((error as Error).message).toMatch(new RegExp(`^another pulldeploy run \\(pid ${holder}, started `));
  });

  it('gets a fresh unreadable lock once its holder finishes writing it and releases', async () => {
    await writeLockFile('');
    setTimeout(() => void rm(lockPath), 100);
    const lock = await acquire();
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it('takes over an unreadable lock older than a few seconds', async () => {
    await writeLockFile('{"pid":');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lockPath, longAgo, longAgo);
    const logger = createMemoryLogger();
    const lock = await acquireLock({ path: lockPath, wait: false, timeoutMs: 0, logger });
    expect(lock.holder.pid).toBe(process.pid);
    expect(logger.lines[0]?.message).toBe(`took over stale lock of an unreadable lock file at ${lockPath}: that process is no longer running`);
    await lock.release();
  });

  it('lets exactly one of many concurrent attempts take over the same stale lock', async () => {
    await writeHolder({ pid: await exitedPid() });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquire()));
    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result) => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((result) => (result as PromiseRejectedResult).reason)).toEqual(Array(7).fill(expect.any(BusyError)));
    await (won[0] as PromiseFulfilledResult<Lock>).value.release();
  });

  it('says another run is taking over when a takeover guard stays in place', async () => {
    await writeHolder({ pid: await exitedPid() });
    await writeFile(`${lockPath}.takeover`, '');
    await expect(acquire()).rejects.toThrow(
      `another pulldeploy run is taking over the stale lock ${lockPath} (${lockPath}.takeover exists): ` +
        `try again in a few seconds; if no pulldeploy is running, remove ${lockPath}.takeover`,
    );
  });

  it('on release, leaves alone a lock that is no longer ours, with a warning', async () => {
    const logger = createMemoryLogger();
    const lock = await acquireLock({ path: lockPath, wait: false, timeoutMs: 0, logger });
    await writeFile(lockPath, 'someone else');
    await lock.release();
    expect(await readFile(lockPath, 'utf8')).toBe('someone else');
    expect(logger.lines).toEqual([
      { level: 'warn', message: `lock ${lockPath} was no longer ours when releasing it (another run took it over); left it alone` },
    ]);
  });
});

describe('readLockHolder', () => {
  it('reports a free lock', async () => {
    expect(await readLockHolder(lockPath)).toEqual({ state: 'free' });
  });

  it('reports a live holder', async () => {
    const lock = await acquire();
    expect(await readLockHolder(lockPath)).toEqual({ state: 'held', holder: lock.holder, alive: true });
    await lock.release();
  });

  it('reports a dead holder as not alive', async () => {
    const pid = await exitedPid();
    await writeHolder({ pid });
    expect(await readLockHolder(lockPath)).toMatchObject({ state: 'held', holder: { pid }, alive: false });
  });

  it('reports an unreadable lock with its age', async () => {
    await writeLockFile('garbage');
    const status = await readLockHolder(lockPath);
    expect(status.state).toBe('unreadable');
    expect(status.state === 'unreadable' && status.ageMs).toBeLessThan(5_000);
  });
});
