// POSIX tar (ustar, with pax records for long names) headers written byte by byte, so every byte of a packed release is ours to fix.
import { UsageError } from '../errors.js';

export const blockSize = 512;

export type TarEntryKind = 'file' | 'directory' | 'symlink';

export interface TarHeaderFields {
  /** Relative path with `/` separators; directories end with `/`. */
  path: string;
  kind: TarEntryKind;
  mode: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkpath?: string;
}

const typeflags: Record<TarEntryKind, string> = { file: '0', directory: '5', symlink: '2' };

/** The largest size an 11-digit octal field holds: 8 GiB - 1. */
export const maxOctalValue = 8 ** 11 - 1;

function writeBytes(block: Buffer, offset: number, length: number, bytes: Buffer): void {
  bytes.copy(block, offset, 0, Math.min(length, bytes.length));
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'latin1');
}

/** Splits a path over ustar's prefix (155 bytes) and name (100 bytes) fields at a slash, when it fits at all. */
function splitUstarPath(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  const body = path.endsWith('/') ? path.slice(0, -1) : path;
  for (let slash = body.indexOf('/'); slash !== -1; slash = body.indexOf('/', slash + 1)) {
    const prefix = path.slice(0, slash);
    const name = path.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  return undefined;
}

/** One pax record, "<length> <key>=<value>\n", where the length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return `${length}${body}`;
}

function headerBlock(fields: TarHeaderFields, name: string, prefix: string, typeflag: string): Buffer {
  const block = Buffer.alloc(blockSize);
  writeBytes(block, 0, 100, Buffer.from(name, 'utf8'));
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.write(' '.repeat(8), 148, 8, 'latin1'); // the checksum counts its own field as spaces
  block.write(typeflag, 156, 1, 'latin1');
  writeBytes(block, 157, 100, Buffer.from(fields.linkpath ?? '', 'utf8'));
  block.write('ustar\0' + '00', 257, 8, 'latin1');
  // uname and gname stay empty; devmajor and devminor are zero-filled octal like uid and gid.
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  writeBytes(block, 345, 155, Buffer.from(prefix, 'utf8'));
  let checksum = 0;
  for (const byte of block) checksum += byte;
  block.write(checksum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return block;
}

/** Zeros that pad `size` bytes of content to a whole number of blocks. */
export function padding(size: number): Buffer {
  return Buffer.alloc((blockSize - (size % blockSize)) % blockSize);
}

/** The header blocks of one entry: a pax header first when the path or link target does not fit ustar's fields. */
export function tarHeader(fields: TarHeaderFields): Buffer {
  if (fields.size > maxOctalValue || fields.mtime > maxOctalValue) {
    throw new UsageError(`cannot pack ${JSON.stringify(fields.path)}: larger than ${maxOctalValue} bytes or dated past the tar format's limit`);
  }
  const typeflag = typeflags[fields.kind];
  const split = splitUstarPath(fields.path);
  const longLink = fields.linkpath !== undefined && Buffer.byteLength(fields.linkpath) > 100;
  if (split !== undefined && !longLink) return headerBlock(fields, split.name, split.prefix, typeflag);

  const records = (split === undefined ? paxRecord('path', fields.path) : '') + (longLink ? paxRecord('linkpath', fields.linkpath ?? '') : '');
  const pax = Buffer.from(records, 'utf8');
  const paxHeader = headerBlock({ path: 'PaxHeader', kind: 'file', mode: 0o644, size: pax.length, mtime: fields.mtime }, 'PaxHeader', '', 'x');
  // The ustar fields keep a truncated form for readers without pax support; the pax records win for the others.
  const fallback = split ?? { prefix: '', name: Buffer.from(fields.path, 'utf8').subarray(0, 100).toString('utf8') };
  return Buffer.concat([paxHeader, pax, padding(pax.length), headerBlock(fields, fallback.name, fallback.prefix, typeflag)]);
}

/** Two zero blocks end a tar archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * blockSize);
}
