// Tests for the guarded takeover of a stale lock: re-checked under the guard, guard always released, stale guards removed.
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { readLockSnapshot } from '../../../src/state/lock-file.js';
import { takeoverGuardPath, tryTakeOver } from '../../../src/state/lock-takeover.js';

let dir: string;
let lockPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-takeover-'));
  lockPath = join(dir, 'lock');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const staleContent = JSON.stringify({ pid: 999999, hostname: 'h', acquired_at: '2026-01-01T00:00:00Z', command: 'old' });

function creatingLock(content: string): () => Promise<string> {
  return vi.fn(async () => {
    await writeFile(lockPath, content, { flag: 'wx' });
    return content;
  });
}

describe('tryTakeOver', () => {
  it('replaces the stale lock it saw, warns naming the dead pid, and removes its guard', async () => {
    await writeFile(lockPath, staleContent);
    const stale = await readLockSnapshot(lockPath);
    const logger = createMemoryLogger();
    expect(await tryTakeOver(lockPath, stale, creatingLock('mine'), logger)).toBe('mine');
    expect(await readFile(lockPath, 'utf8')).toBe('mine');
    expect(await readdir(dir)).toEqual(['lock']);
    expect(logger.lines).toEqual([
      { level: 'warn', message: `took over stale lock of pid 999999 at ${lockPath}: that process is no longer running` },
    ]);
  });

  it('says an unreadable lock file was taken over when the stale lock was corrupt', async () => {
    await writeFile(lockPath, '');
    const logger = createMemoryLogger();
    await tryTakeOver(lockPath, await readLockSnapshot(lockPath), creatingLock('mine'), logger);
    expect(logger.lines[0]?.message).toBe(`took over stale lock of an unreadable lock file at ${lockPath}: that process is no longer running`);
  });

  it('leaves the lock alone when another run replaced it after we looked', async () => {
    await writeFile(lockPath, staleContent);
    const stale = await readLockSnapshot(lockPath);
    await rm(lockPath);
    await writeFile(lockPath, 'the winner');
    const create = creatingLock('mine');
    expect(await tryTakeOver(lockPath, stale, create, createMemoryLogger())).toBeUndefined();
    expect(create).not.toHaveBeenCalled();
    expect(await readFile(lockPath, 'utf8')).toBe('the winner');
    expect(await readdir(dir)).toEqual(['lock']);
  });

  it('gives up, without touching anything, while another run holds a fresh guard', async () => {
    await writeFile(lockPath, staleContent);
    await writeFile(takeoverGuardPath(lockPath), '');
    const create = creatingLock('mine');
    const logger = createMemoryLogger();
    expect(await tryTakeOver(lockPath, await readLockSnapshot(lockPath), create, logger)).toBeUndefined();
    expect(create).not.toHaveBeenCalled();
    expect(await readFile(lockPath, 'utf8')).toBe(staleContent);
    expect((await readdir(dir)).sort()).toEqual(['lock', 'lock.takeover']);
    expect(logger.lines).toEqual([]);
  });

  it('removes a guard older than 30 s, left by a run that died mid-takeover, so the next attempt can proceed', async () => {
    await writeFile(lockPath, staleContent);
    const guard = takeoverGuardPath(lockPath);
    await writeFile(guard, '');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(guard, longAgo, longAgo);
    const logger = createMemoryLogger();
    const stale = await readLockSnapshot(lockPath);
    expect(await tryTakeOver(lockPath, stale, creatingLock('mine'), logger)).toBeUndefined();
    expect(logger.lines).toEqual([{ level: 'warn', message: `removed ${guard} left by a run that died while taking over the lock` }]);
    expect(await tryTakeOver(lockPath, stale, creatingLock('mine'), logger)).toBe('mine');
  });

  it('removes its guard even when creating the new lock fails', async () => {
    await writeFile(lockPath, staleContent);
    const failing = async (): Promise<string> => {
      throw new Error('disk full');
    };
    await expect(tryTakeOver(lockPath, await readLockSnapshot(lockPath), failing, createMemoryLogger())).rejects.toThrow('disk full');
    expect(await readdir(dir)).toEqual([]);
  });

  it('says it removed the stale lock when another run created the lock between removal and creation', async () => {
    await writeFile(lockPath, staleContent);
    const logger = createMemoryLogger();
    const beaten = async (): Promise<string | undefined> => undefined;
    expect(await tryTakeOver(lockPath, await readLockSnapshot(lockPath), beaten, logger)).toBeUndefined();
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message: `removed stale lock of pid 999999 at ${lockPath}: that process is no longer running; another run took the lock first`,
      },
    ]);
  });
});
