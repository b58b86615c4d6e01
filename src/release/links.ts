// Atomic relative symlinks (current, next, srv/service): replaced by rename(2), never absent in between.
import { lstat, mkdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import { StepError } from '../errors.js';
import { crashPoint } from '../state/crash-point.js';
import { removeDeadTemps, syncDirectory, tempPathBeside } from './durable.js';
import { errorCode } from '../errors.js';

/** Throws when `linkPath` is a real file or directory: the host layout is damaged and must not be overwritten. */
async function assertLinkOrMissing(linkPath: string): Promise<boolean> {
  try {
    const info = await lstat(linkPath);
    if (!info.isSymbolicLink()) {
      const kind = info.isDirectory() ? 'a directory' : 'a regular file';
      throw new StepError(
        `${linkPath} is ${kind}, not a symlink: the host layout is damaged; move it aside (mv ${linkPath} ${linkPath}.bak) and run again`,
      );
    }
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Swaps the link in one rename(2), with a target relative to the link's directory so the tree can move. */
async function replaceLink(linkPath: string, targetAbsolutePath: string): Promise<void> {
  await assertLinkOrMissing(linkPath);
  const dir = dirname(linkPath);
  await mkdir(dir, { recursive: true });
  const target = relative(dir, resolve(targetAbsolutePath)) || '.';
  await removeDeadTemps(linkPath);
  const temp = tempPathBeside(linkPath);
  await symlink(target, temp);
  crashPoint(`link:${basename(dir)}/${basename(linkPath)}`);
  try {
    await rename(temp, linkPath);
  } catch (error) {
    await rm(temp, { force: true });
    throw new StepError(`could not switch ${linkPath} to ${targetAbsolutePath}: ${String(error)}`, { cause: error });
  }
  await syncDirectory(dir);
}

/** Points `linkPath` at `targetAbsolutePath` atomically; the target must exist. */
export async function pointLink(linkPath: string, targetAbsolutePath: string): Promise<void> {
  try {
    await stat(targetAbsolutePath);
  } catch (error) {
    throw new StepError(`cannot point ${linkPath} at ${targetAbsolutePath}: the target does not exist (${errorCode(error) ?? String(error)})`, {
      cause: error,
    });
  }
  await replaceLink(linkPath, targetAbsolutePath);
}

/** The absolute path the link names (whether or not it exists), or undefined when there is no link. */
export async function readLink(linkPath: string): Promise<string | undefined> {
  if (!(await assertLinkOrMissing(linkPath))) return undefined;
  try {
    return resolve(dirname(linkPath), await readlink(linkPath));
  } catch (error) {
    // Removed between the lstat and the readlink.
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** The release version a link points at (the last path segment of its target), or undefined. */
export async function linkedVersion(linkPath: string): Promise<string | undefined> {
  const target = await readLink(linkPath);
  return target === undefined ? undefined : basename(target);
}

/** Puts back what `readLink` returned earlier: the same target, or no link at all. */
export async function restoreLink(linkPath: string, previous: string | undefined): Promise<void> {
  if (previous !== undefined) {
    // No existence check: restoring exactly what was there is right even if it was already dangling.
    await replaceLink(linkPath, previous);
    return;
  }
  if (!(await assertLinkOrMissing(linkPath))) return;
  await rm(linkPath, { force: true });
  await syncDirectory(dirname(linkPath));
}
