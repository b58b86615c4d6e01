// The safety rules of DESIGN.md §7 for tar entries, checked one entry at a time before anything is written.
//
// A release runs as root, so an entry is refused (and with it the whole release) when it:
// - has an absolute path, or a ".." segment anywhere in its path;
// - has a control character (newline, tab, escape, …) in its path or link target: such names would forge
//   lines in logs (hook names are logged) and split in every line-oriented tool;
// - is anything but a regular file, directory, symlink or hardlink (device nodes and FIFOs are refused);
// - is a symlink whose target is absolute or resolves outside the release. Resolution is virtual: it
//   follows the symlinks seen earlier in the archive hop by hop, as the kernel would, so a chain that
//   escapes only on a later hop is caught. A new symlink also re-checks the earlier symlinks whose
//   resolution passed through its path, since it changes where they lead. Loops are refused;
// - would be written through a symlink seen earlier (a parent directory that is a link), or replaces an
//   earlier symlink, or is a symlink replacing an earlier entry (so the tree never changes under links);
// - is a hardlink whose target is absolute, contains "..", goes through a symlink, or is not a regular
//   file seen earlier in the archive;
// - takes the archive past `maxEntries` entries or `maxBytes` bytes of content.
// The mode kept is `mode & 0o777`: setuid, setgid and sticky bits are cleared, so a release cannot
// plant a setuid-root binary. The process umask still applies when files are created.
import { ArtifactError } from '../errors.js';

export interface EntryLimits {
  /** Largest total content size, in bytes, of all entries. */
  maxBytes: number;
  /** Largest number of entries. */
  maxEntries: number;
}

/** One tar entry as the policy sees it. `type` is one of the four allowed kinds or a readable name of another. */
export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | (string & Record<never, never>);
  linkpath?: string;
  size: number;
  mode: number;
}

type Kind = 'file' | 'directory' | 'symlink';

/** Linux gives up after 40 links in one lookup (MAXSYMLINKS); so do we. */
const maxSymlinkHops = 40;

/** C0 control characters and DEL. */
const controlCharacter = /[\u0000-\u001f\u007f]/;

/** Thrown inside resolution when links chain back on themselves. */
class SymlinkLoop extends Error {}

/** JSON quoting, which escapes C0 controls but leaves DEL as it is, so DEL is escaped too. */
function quote(text: string): string {
  return JSON.stringify(text).replaceAll('\u007f', '\\u007f');
}

function describePath(path: string): string {
  const quoted = quote(path);
  return quoted.length > 200 ? `${quoted.slice(0, 197)}..."` : quoted;
}

/** Path segments with empty and "." segments dropped: "./a//b/" → ["a", "b"]. */
function segmentsOf(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '' && segment !== '.');
}

export class EntryPolicy {
  readonly limits: EntryLimits;
  #entries = 0;
  #bytes = 0;
  /** Every path seen so far, explicit or implied as a parent directory, with what it is now. */
  readonly #kinds = new Map<string, Kind>();
  /** Symlink path → its target as written in the archive. */
  readonly #symlinks = new Map<string, string>();
  /** A plain path → the symlinks whose resolution walked through it (re-checked if it becomes a link). */
  readonly #consultedBy = new Map<string, Set<string>>();

  constructor(limits: EntryLimits) {
    this.limits = limits;
  }

  /** Checks the next entry of the archive; returns the mode to create it with, or throws ArtifactError. */
  check(entry: ArchiveEntry): { mode: number } {
    const refuse = (reason: string): never => {
      throw new ArtifactError(`refusing entry ${describePath(entry.path)}: ${reason}`);
    };

    this.#entries += 1;
    if (this.#entries > this.limits.maxEntries) {
      refuse(`the archive has more than ${this.limits.maxEntries} entries (fetch.max_entries)`);
    }
    if (!['file', 'directory', 'symlink', 'hardlink'].includes(entry.type)) {
      refuse(`it is a ${entry.type}; only regular files, directories, symlinks and hardlinks are allowed`);
    }
    const control = controlCharacter.exec(entry.path) ?? controlCharacter.exec(entry.linkpath ?? '');
    if (control !== null) {
      const where = controlCharacter.test(entry.path) ? 'its path' : 'its link target';
      refuse(`${where} contains the control character ${quote(control[0])}, which logs and line-oriented tools would misread`);
    }
    if (entry.path.startsWith('/')) refuse('its path is absolute');
    const segments = segmentsOf(entry.path);
    if (segments.includes('..')) refuse('its path contains ".."');
    this.#bytes += entry.size;
    if (this.#bytes > this.limits.maxBytes) {
      refuse(`the archive's content exceeds ${this.limits.maxBytes} bytes (fetch.max_bytes)`);
    }

    const key = segments.join('/');
    if (key === '' && entry.type !== 'directory') refuse(`a ${entry.type} cannot replace the release directory itself`);
    const linkInPath = this.#firstSymlinkIn(segments.slice(0, -1));
    if (linkInPath !== undefined) refuse(`it would be written through the symlink ${describePath(linkInPath)}`);
    if (this.#kinds.get(key) === 'symlink') refuse('it replaces a symlink earlier in the archive');

    if (entry.type === 'symlink') this.#checkSymlink(key, entry.linkpath, refuse);
    if (entry.type === 'hardlink') this.#checkHardlink(entry.linkpath, refuse);

    this.#record(segments, entry.type === 'directory' ? 'directory' : entry.type === 'symlink' ? 'symlink' : 'file');
    return { mode: entry.mode & 0o777 };
  }

  /** The first prefix of `segments` (shortest first) that is a symlink seen earlier. */
  #firstSymlinkIn(segments: string[]): string | undefined {
    for (let length = 1; length <= segments.length; length += 1) {
      const prefix = segments.slice(0, length).join('/');
      if (this.#symlinks.has(prefix)) return prefix;
    }
    return undefined;
  }

  #checkSymlink(key: string, target: string | undefined, refuse: (reason: string) => never): void {
    if (target === undefined || target === '') refuse('the symlink has no target');
    if (target.startsWith('/')) refuse(`the symlink target ${describePath(target)} is absolute, outside the release`);
    if (this.#kinds.has(key)) refuse('the symlink replaces an entry earlier in the archive');

    this.#symlinks.set(key, target);
    const own = this.#resolveLink(key);
    if (own === 'loop') refuse(`the symlink target ${describePath(target)} is a loop of symlinks`);
    if (own === 'outside') refuse(`the symlink target ${describePath(target)} resolves outside the release`);
    for (const earlier of this.#consultedBy.get(key) ?? []) {
      if (earlier !== key && this.#resolveLink(earlier) !== 'inside') {
        const earlierTarget = this.#symlinks.get(earlier) ?? '';
        refuse(
          `the symlink would make the earlier symlink ${describePath(earlier)} -> ${describePath(earlierTarget)} ` +
            'resolve outside the release or loop',
        );
      }
    }
  }

  #checkHardlink(target: string | undefined, refuse: (reason: string) => never): void {
    if (target === undefined || target === '') refuse('the hardlink has no target');
    if (target.startsWith('/')) refuse(`the hardlink target ${describePath(target)} is absolute`);
    const segments = segmentsOf(target);
    if (segments.includes('..')) refuse(`the hardlink target ${describePath(target)} contains ".."`);
    const linkInPath = this.#firstSymlinkIn(segments);
    if (linkInPath !== undefined) {
      refuse(`the hardlink target ${describePath(target)} goes through the symlink ${describePath(linkInPath)}`);
    }
    if (this.#kinds.get(segments.join('/')) !== 'file') {
      refuse(`the hardlink target ${describePath(target)} is not a regular file earlier in the archive`);
    }
  }

  /** Where the recorded symlink at `path` leads, following every symlink recorded so far. */
  #resolveLink(path: string): 'inside' | 'outside' | 'loop' {
    try {
      const start = segmentsOf(path).slice(0, -1);
      return this.#resolve(path, start, this.#symlinks.get(path) ?? '', { hops: 0 }) === undefined ? 'outside' : 'inside';
    } catch (error) {
      if (error instanceof SymlinkLoop) return 'loop';
      throw error;
    }
  }

  /** Walks `target` from `start` as the kernel would, through earlier symlinks; undefined once it leaves the release. */
  #resolve(owner: string, start: string[], target: string, budget: { hops: number }): string[] | undefined {
    let stack = [...start];
    for (const segment of target.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') {
        if (stack.length === 0) return undefined;
        stack.pop();
        continue;
      }
      stack.push(segment);
      const here = stack.join('/');
      const link = this.#symlinks.get(here);
      if (link === undefined) {
        this.#noteConsulted(here, owner);
        continue;
      }
      budget.hops += 1;
      if (budget.hops > maxSymlinkHops) throw new SymlinkLoop();
      const resolved = this.#resolve(owner, stack.slice(0, -1), link, budget);
      if (resolved === undefined) return undefined;
      stack = resolved;
    }
    return stack;
  }

  #noteConsulted(path: string, owner: string): void {
    const owners = this.#consultedBy.get(path);
    if (owners) owners.add(owner);
    else this.#consultedBy.set(path, new Set([owner]));
  }

  /** Records the entry and the parent directories it implies. */
  #record(segments: string[], kind: Kind): void {
    for (let length = 1; length < segments.length; length += 1) {
      const parent = segments.slice(0, length).join('/');
      if (!this.#kinds.has(parent)) this.#kinds.set(parent, 'directory');
    }
    this.#kinds.set(segments.join('/'), kind);
  }
}
