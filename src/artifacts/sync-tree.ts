// Flushes a freshly extracted tree to disk so a rename never publishes half-written data: one syncfs(2) of its file
// system (coreutils `sync --file-system`), or, where that command is missing, every file and then every directory.
//
// One syncfs is one journal commit for the whole tree; an fsync per file is one each (8 % of a 256 MB pull here).
// It also flushes what other processes wrote to the same file system, which costs them nothing but time.
//
// The kernel starts writing dirty pages back on its own only past vm.dirty_background_ratio (10 % of memory), so
// a release of a few hundred MB would reach the disk only in that final flush, after the extraction. Writeback
// started while extracting (startWriteback) overlaps the disk with the download: 6 % of a 256 MB pull here.
import { execFile } from 'node:child_process';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StepError, errorCode } from '../errors.js';

/** Files flushed at once: enough to keep the disk queue busy without running out of file descriptors. */
const parallelSyncs = 16;

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Every regular file and directory under `root`; symlinks are recorded in their directory and need no sync of their own. */
async function listForSync(root: string): Promise<string[]> {
  const paths: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile()) paths.push(path);
    }
    paths.push(dir);
  };
  await visit(root);
  return paths;
}

const syncFileSystem = (root: string) => promisify(execFile)('sync', ['--file-system', root]);

export interface Writeback {
  /** Starts flushing what is written so far, unless a flush is still running. */
  kick(): void;
  /** Resolves once no flush is running. */
  settled(): Promise<void>;
}

/**
 * Early flushes of the file system holding `root`, one at a time, while it is still being written. Their failures
 * are not reported: they only get ahead of the final syncTree, which reports its own.
 */
export function startWriteback(root: string): Writeback {
  let running: Promise<void> | undefined;
  return {
    kick() {
      running ??= syncFileSystem(root).then(
        () => undefined,
        () => undefined,
      ).finally(() => (running = undefined));
    },
    async settled() {
      await running;
    },
  };
}

/** Resolves once every file and directory under `root` is on disk. */
export async function syncTree(root: string): Promise<void> {
  try {
    await syncFileSystem(root);
    return;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      const reason = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
      throw new StepError(`cannot flush ${root} to disk (sync --file-system): ${reason}`, { cause: error });
    }
  }
  await syncEachPath(root);
}

/** fsyncs every file and directory under `root`, several at once (also measured against one syncfs by bench/). */
export async function syncEachPath(root: string): Promise<void> {
  const paths = await listForSync(root);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const path = paths[next]!;
      next += 1;
      await syncPath(path);
    }
  };
  await Promise.all(Array.from({ length: parallelSyncs }, worker));
}
