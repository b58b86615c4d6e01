// Flushes a freshly extracted tree to disk (every file, then every directory) so a rename never publishes half-written data.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

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

/** Resolves once every file and directory under `root` is on disk; all are done before it returns. */
export async function syncTree(root: string): Promise<void> {
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
