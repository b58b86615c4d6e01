// Builds release tarballs for tests by writing ustar headers directly, so hostile archives no tar tool would make are possible.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'character-device' | 'block-device' | 'fifo';

export interface TestEntry {
  path: string;
  /** Defaults to 'file'. A one-character string is written as a raw typeflag (e.g. 'S' for a GNU sparse file). */
  type?: EntryKind | string;
  content?: string | Buffer;
  linkpath?: string;
  /** Defaults to 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  mode?: number;
  /** Owner recorded in the archive; defaults to 0 (root). */
  uid?: number;
  gid?: number;
  /** Extra pax records written in an extended header just before this entry (e.g. a `path` that rewrites its name). */
  pax?: Record<string, string>;
  /** The ustar prefix field, which readers put in front of the name with a slash. */
  prefix?: string;
}

const typeflags: Record<EntryKind, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

const blockSize = 512;
const fixedMtime = 1_700_000_000;

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`"${value}" does not fit in ${length} bytes`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  if (value >= 8 ** (length - 1)) {
    // Too large for octal (a size of 8 GiB or more): GNU base-256, a high bit then the value big-endian.
    header[offset] = 0x80;
    for (let i = length - 1, rest = value; i > 0; i -= 1, rest = Math.floor(rest / 256)) header[offset + i] = rest % 256;
    return;
  }
  writeString(header, offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
}

function header(fields: {
  path: string;
  typeflag: string;
  size: number;
  mode: number;
  linkpath?: string;
  uid?: number;
  gid?: number;
  prefix?: string;
}): Buffer {
  const block = Buffer.alloc(blockSize);
  writeString(block, 0, 100, fields.path);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, fields.uid ?? 0);
  writeOctal(block, 116, 8, fields.gid ?? 0);
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fixedMtime);
  block.write(' '.repeat(8), 148, 'latin1');
  block.write(fields.typeflag, 156, 'latin1');
  writeString(block, 157, 100, fields.linkpath ?? '');
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  writeString(block, 265, 32, 'root');
  writeString(block, 297, 32, 'root');
  writeString(block, 345, 155, fields.prefix ?? '');
  let checksum = 0;
  for (const byte of block) checksum += byte;
  writeString(block, 148, 8, checksum.toString(8).padStart(6, '0') + '\0 ');
  return block;
}

/** The 512-byte ustar header of a regular file of `size` bytes, for archives assembled piece by piece. */
export function fileHeader(path: string, size: number): Buffer {
  return header({ path, typeflag: typeflags.file, size, mode: 0o644 });
}

function padded(data: Buffer): Buffer[] {
  const padding = (blockSize - (data.length % blockSize)) % blockSize;
  return [data, Buffer.alloc(padding)];
}

/** One pax record: "<length> <key>=<value>\n", where the length counts itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return `${length}${body}`;
}

function entryBlocks(entry: TestEntry): Buffer[] {
  const kind = entry.type ?? 'file';
  const typeflag = kind in typeflags ? typeflags[kind as EntryKind] : kind;
  const content = Buffer.from(entry.content ?? '');
  const defaultMode = kind === 'directory' ? 0o755 : kind === 'symlink' ? 0o777 : 0o644;
  const blocks: Buffer[] = [];
  const long = [
    ...(Buffer.byteLength(entry.path) > 100 ? [paxRecord('path', entry.path)] : []),
    ...(entry.linkpath !== undefined && Buffer.byteLength(entry.linkpath) > 100 ? [paxRecord('linkpath', entry.linkpath)] : []),
    ...Object.entries(entry.pax ?? {}).map(([key, value]) => paxRecord(key, value)),
  ];
  if (long.length > 0) {
    const pax = Buffer.from(long.join(''));
    blocks.push(header({ path: 'PaxHeader', typeflag: 'x', size: pax.length, mode: 0o644 }), ...padded(pax));
  }
  blocks.push(
    header({
      path: entry.path.slice(0, 100),
      typeflag,
      size: content.length,
      mode: entry.mode ?? defaultMode,
      ...(entry.uid !== undefined ? { uid: entry.uid } : {}),
      ...(entry.gid !== undefined ? { gid: entry.gid } : {}),
      ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath.slice(0, 100) } : {}),
      ...(entry.prefix !== undefined ? { prefix: entry.prefix } : {}),
    }),
    ...padded(content),
  );
  return blocks;
}

/** An uncompressed tar of `entries` in order, ending with the two zero blocks of end-of-archive. */
export function tar(entries: readonly TestEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap(entryBlocks), Buffer.alloc(2 * blockSize)]);
}

export function tarGz(entries: readonly TestEntry[]): Buffer {
  return gzipSync(tar(entries));
}

/** A normal release from a dict of file paths to contents; directories come first, as tar tools write them; `#!` scripts are executable. */
export function releaseEntries(files: Record<string, string>): TestEntry[] {
  const directories = new Set<string>();
  for (const path of Object.keys(files)) {
    const parts = path.split('/');
    for (let length = 1; length < parts.length; length += 1) directories.add(parts.slice(0, length).join('/'));
  }
  return [
    ...[...directories].sort().map((path): TestEntry => ({ path: `${path}/`, type: 'directory' })),
    ...Object.entries(files).map(
      ([path, content]): TestEntry => (content.startsWith('#!') ? { path, content, mode: 0o755 } : { path, content }),
    ),
  ];
}

export function releaseTarGz(files: Record<string, string>): Buffer {
  return tarGz(releaseEntries(files));
}

export function sha256(buffer: Buffer): string {
  return createHash('sha256').update(buffer).digest('hex');
}
