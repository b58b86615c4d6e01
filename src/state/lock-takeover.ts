// Taking over a stale run lock under a guard file, so two runs cannot both replace the same dead holder's lock.
import { open, rm, stat } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import { errorCode } from '../errors.js';
import { isSameLockFile, readLockSnapshot, type LockSnapshot } from './lock-file.js';

/** A takeover takes milliseconds; a guard this old was left by a process that died mid-takeover. */
const guardStaleMs = 30_000;

export function takeoverGuardPath(lockPath: string): string {
  return `${lockPath}.takeover`;
}

async function removeStaleGuard(guard: string, logger: Logger): Promise<void> {
  try {
    if (Date.now() - (await stat(guard)).mtimeMs <= guardStaleMs) return;
    await rm(guard, { force: true });
    logger.warn(`removed ${guard} left by a run that died while taking over the lock`);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

/**
 * Replaces the lock file at `path` with `createLock()`'s, but only if it is still exactly the
 * `stale` file seen before; undefined when another run holds the guard or got there first.
 */
export async function tryTakeOver<T>(
  path: string,
  stale: LockSnapshot,
  createLock: () => Promise<T | undefined>,
  logger: Logger,
): Promise<T | undefined> {
  const guard = takeoverGuardPath(path);
  try {
    const handle = await open(guard, 'wx', 0o644);
    await handle.close();
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    await removeStaleGuard(guard, logger);
    return undefined;
  }
  try {
    // Re-read under the guard: between our look and now another run may have taken over already.
    if (!isSameLockFile(await readLockSnapshot(path), stale)) return undefined;
    await rm(path, { force: true });
    const lock = await createLock();
    const previous = stale.kind === 'valid' ? `pid ${stale.holder.pid}` : 'an unreadable lock file';
    // A run that did not need the guard may create the lock in the moment it is absent: it is then theirs.
    logger.warn(
      lock === undefined
        ? `removed stale lock of ${previous} at ${path}: that process is no longer running; another run took the lock first`
        : `took over stale lock of ${previous} at ${path}: that process is no longer running`,
    );
    return lock;
  } finally {
    await rm(guard, { force: true });
  }
}
