// The entries of a directory to pack, in a fixed order with normalised modes, refused when the agent would refuse them.
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EntryPolicy } from '../artifacts/entry-policy.js';
import { ArtifactError, UsageError, describeError } from '../errors.js';
import type { TarEntryKind } from './tar-header.js';

export interface PackEntry {
  /** Path inside the archive: `/`-separated, relative, directories ending with `/`. */
  path: string;
  kind: TarEntryKind;
  /** 0o755 or 0o644 (the executable bit kept), 0o777 for symlinks. */
  mode: number;
  size: number;
  /** Where the content is read from. */
  source: string;
  linkpath?: string;
}

/** Byte order of the UTF-8 names: the same on every machine, whatever order the file system lists them in. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function normalisedMode(kind: TarEntryKind, mode: number): number {
  if (kind === 'symlink') return 0o777;
  if (kind === 'directory') return 0o755;
  // Any execute bit makes it executable for everyone; the umask that created the file does not show in the archive.
  return (mode & 0o111) !== 0 ? 0o755 : 0o644;
}

/** Every entry under `dir`, depth first, each directory before its contents, siblings in byte order of their names. */
export async function listPackEntries(dir: string): Promise<PackEntry[]> {
  const entries: PackEntry[] = [];
  const walk = async (absolute: string, relative: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(absolute);
    } catch (error) {
      throw new UsageError(`cannot read directory ${absolute}: ${describeError(error)}`, { cause: error });
    }
    for (const name of names.sort(compareNames)) {
      const source = join(absolute, name);
      const path = relative + name;
      const info = await lstat(source);
      if (info.isDirectory()) {
        entries.push({ path: `${path}/`, kind: 'directory', mode: normalisedMode('directory', info.mode), size: 0, source });
        await walk(source, `${path}/`);
      } else if (info.isFile()) {
        // Hard links inside the tree are packed as separate copies, so no entry depends on another.
        entries.push({ path, kind: 'file', mode: normalisedMode('file', info.mode), size: info.size, source });
      } else if (info.isSymbolicLink()) {
        entries.push({ path, kind: 'symlink', mode: 0o777, size: 0, source, linkpath: await readlink(source) });
      } else {
        throw new ArtifactError(
          `cannot pack ${source}: it is a ${describeSpecial(info)}; a release holds only regular files, directories and symlinks`,
        );
      }
    }
  };
  await walk(dir, '');
  checkLikeTheAgent(dir, entries);
  return entries;
}

function describeSpecial(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return 'FIFO';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  return 'special file';
}

/** The agent's own extraction rules, so a packed release always extracts: above all, no symlink may lead outside the tree. */
function checkLikeTheAgent(dir: string, entries: readonly PackEntry[]): void {
  const policy = new EntryPolicy({ maxBytes: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER });
  for (const entry of entries) {
    try {
      policy.check({ path: entry.path, type: entry.kind, size: entry.size, mode: entry.mode, ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}) });
    } catch (error) {
      throw new ArtifactError(`cannot pack ${dir}: ${describeError(error)}; a release may only link to paths inside itself`, { cause: error });
    }
  }
}

/** Hooks the agent would skip: files directly in `hooks/<phase>/` without an execute bit. */
export function nonExecutableHooks(entries: readonly PackEntry[]): string[] {
  return entries.filter((entry) => entry.kind === 'file' && /^hooks\/[^/]+\/[^/]+$/.test(entry.path) && (entry.mode & 0o111) === 0).map((entry) => entry.path);
}
