// Every path under a directory with its kind, size and mtime: equal snapshots mean nothing was written.
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

export async function snapshotTree(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (current: string): Promise<void> => {
    const info = await lstat(current);
    lines.push(`${relative(dir, current) || '.'} ${info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'link' : 'file'} ${info.size} ${info.mtimeMs}`);
    if (info.isDirectory()) for (const name of (await readdir(current)).sort()) await walk(join(current, name));
  };
  await walk(dir);
  return lines;
}
