// Crash-safe file operations: fsync of directories and whole-file replacement by rename(2).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { errorCode } from '../errors.js';
import { crashPoint } from '../state/crash-point.js';
import { isProcessRunning } from '../state/process-identity.js';

/** A name no other process or call will pick: `<pid>-<random>`. */
export function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** A temp name beside `path`, hidden so retention and listings skip it. */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `${tempPrefix(path)}${uniqueSuffix()}`);
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/** The pid in a name made with a `<pid>-<random>` ending (uniqueSuffix, or mkdtemp after a pid), or undefined. */
export function ownerPid(name: string): number | undefined {
  const match = /-(\d+)-[A-Za-z0-9]+$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** True when the process that made this temp name has exited, so what it left can go. */
export async function isLeftOfDeadProcess(name: string): Promise<boolean> {
  const pid = ownerPid(name);
  return pid !== undefined && pid !== process.pid && !(await isProcessRunning(pid, undefined));
}

/**
 * Removes the temp files beside `path` that a run killed between writing and renaming left behind (a SIGKILL
 * leaves `.current.tmp-…` links and `.state.json.tmp-…` files); those of live processes are left alone.
 */
export async function removeDeadTemps(path: string): Promise<void> {
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    // The directory is created by the caller; nothing can be left in one that does not exist.
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && (await isLeftOfDeadProcess(name))) await rm(join(dirname(path), name), { force: true });
  }
}

/**
 * `mkdir -p` that fails with the real reason: Node's recursive mkdir answers ENOENT when a parent cannot be
 * made on a read-only file system (it reports its stat of the missing parent, not the EROFS of the mkdir).
 */
export async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    // Make each missing level by itself: a plain mkdir(2) says what stopped it.
    let path = '';
    for (const part of resolve(dir).split(sep).filter((segment) => segment !== '')) {
      path += sep + part;
      try {
        await mkdir(path);
      } catch (levelError) {
        if (errorCode(levelError) !== 'EEXIST') throw levelError;
      }
    }
  }
}

/** Makes a rename or unlink inside `dir` survive a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` so a reader sees either the old or the new content, never a torn file. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  await removeDeadTemps(path);
  const temp = tempPathBeside(path);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    crashPoint(`write:${basename(path)}`);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}
