// Safe extraction of an uncompressed tar stream with node-tar: each entry passes the EntryPolicy before it is written.
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ReadEntry, Unpack, type types } from 'tar';
import { ArtifactError, StepError } from '../errors.js';
import { errorCode } from '../errors.js';
import { crashPoint } from '../state/crash-point.js';
import type { ArchiveEntry, EntryLimits, EntryPolicy } from './entry-policy.js';
import { SerialReservations } from './serial-reservations.js';

/** node-tar's entry types as the policy (and its messages) name them; other types are passed under their node-tar name. */
const policyTypes: Partial<Record<types.EntryTypeName, string>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'FIFO',
  GNUDumpDir: 'GNU dump directory',
};

/** Tar framing allowed per entry on top of its content: its header, padding, and a pax header with long names. */
const framingBytesPerEntry = 8 * 1024;
/** Framing allowed once per archive: end-of-archive blocks, record padding, a global pax header. */
const framingBytesPerArchive = 1024 * 1024;
/** Pax headers larger than this are refused (node-tar would skip them silently). */
const maxPaxHeaderBytes = 64 * 1024;

/** The entry at which the test-only crash point `extract:mid` fires: well inside any test release. */
const crashEntry = 10;

/** Errors of the host rather than of the archive: passed on as they are, not blamed on the release. */
const hostErrorCodes = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EMFILE', 'ENFILE', 'EIO', 'ENOMEM']);

/** The most uncompressed tar bytes a release within `limits` can take, so a gzip bomb stops at this point. */
export function tarStreamLimit(limits: EntryLimits): number {
  return limits.maxBytes + limits.maxEntries * framingBytesPerEntry + framingBytesPerArchive;
}

function describeForPolicy(entry: ReadEntry): ArchiveEntry {
  const type = policyTypes[entry.type] ?? entry.type;
  return {
    path: entry.path,
    type,
    ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}),
    size: entry.size,
    mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
  };
}

/** node-tar reports problems as errors carrying a TAR_* code and the entry; archive problems become ArtifactErrors. */
function toExtractionError(error: Error): Error {
  if (error instanceof ArtifactError) return error;
  const code = errorCode(error);
  if (code !== undefined && hostErrorCodes.has(code)) return error;
  const entry = 'entry' in error && error.entry instanceof ReadEntry ? ` at entry ${JSON.stringify(error.entry.path)}` : '';
  return new ArtifactError(`the archive cannot be extracted${entry}: ${error.message}`, { cause: error });
}

/**
 * node-tar's file writer takes a short write(2) for a complete one, so a file system that fills up during the
 * last write of a file leaves it truncated without any error. Every regular file is checked against the size
 * the archive declared once extraction has finished.
 */
async function verifyFileSizes(dir: string, sizes: ReadonlyMap<string, number>): Promise<void> {
  for (const [entryPath, size] of sizes) {
    const path = join(dir, entryPath);
    const info = await lstat(path);
    if (info.isFile() && info.size === size) continue;
    throw new StepError(
      `${path} holds ${info.isFile() ? `${info.size} of its ${size} bytes` : 'something other than the file extracted'} after extraction: ` +
        'the file system filled up while it was written (a short write); free some space (df -h) and run again',
    );
  }
}

function isGzipMagic(head: Buffer): boolean {
  return head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Extracts the tar stream into `dir` (which must exist). Every entry is checked by `policy` before node-tar
 * writes it; the first refusal, node-tar warning or error ends the whole extraction with that error, after
 * every write already started has settled. Owners are never preserved: files belong to the running user.
 * Resolves with the number of entries and their total content bytes.
 */
export async function extractTar(tarStream: Readable, dir: string, policy: EntryPolicy): Promise<{ entries: number; bytes: number }> {
  const streamLimit = tarStreamLimit(policy.limits);
  let entries = 0;
  let bytes = 0;
  let streamBytes = 0;
  let head = Buffer.alloc(0);
  let failure: Error | undefined;
  /** Set once the extraction is torn down from outside: errors after that are consequences, not causes. */
  let stopping = false;
  let sawEndOfArchive = false;
  let resumeWriter: (() => void) | undefined;
  /** Entry path → declared size of every regular file as it ends up; the archive's own strings, as joined paths cost 10× the memory. */
  const fileSizes = new Map<string, number>();

  const fail = (error: Error): void => {
    if (failure !== undefined || stopping) return;
    failure = error;
    resumeWriter?.();
  };

  const unpack = new Unpack({
    cwd: dir,
    // Every warning (a skipped entry, a bad header, a failed write) is an error: nothing is dropped silently.
    strict: true,
    preserveOwner: false,
    preservePaths: false,
    // The stream is already gunzipped; a compressed stream inside it is refused below, zstd never sniffed.
    zstd: false,
    maxMetaEntrySize: maxPaxHeaderBytes,
    filter: (_path, entry) => {
      if (failure !== undefined || !(entry instanceof ReadEntry)) return false;
      try {
        const described = describeForPolicy(entry);
        const { mode } = policy.check(described);
        entry.mode = mode;
        entries += 1;
        bytes += entry.size;
        // A later entry of another kind at the same path replaces the file.
        if (described.type === 'file') fileSizes.set(entry.path, entry.size);
        else fileSizes.delete(entry.path);
        if (entries === crashEntry) crashPoint('extract:mid');
        return true;
      } catch (error) {
        fail(error as Error);
        return false;
      }
    },
  });
  // node-tar's own reservations keep every entry in memory to the end (see serial-reservations.ts); the property is
  // public but typed with node-tar's private class, hence the assignment by Object.assign.
  Object.assign(unpack, { reservations: new SerialReservations() });
  unpack.on('error', (error: Error) => fail(toExtractionError(error)));
  // Entries node-tar skips on its own (unknown types, oversized pax headers) never reach the filter.
  unpack.on('ignoredEntry', (entry: ReadEntry) => {
    fail(new ArtifactError(`refusing entry ${JSON.stringify(entry.path)}: its type ${entry.type} cannot be extracted safely`));
  });
  unpack.on('eof', () => {
    sawEndOfArchive = true;
  });
  const closed = new Promise<void>((resolve) => unpack.once('close', resolve));
  let ended = false;
  const endUnpack = (): Promise<void> => {
    if (!ended) {
      ended = true;
      unpack.end();
    }
    return closed;
  };

  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (failure !== undefined) return callback(failure);
      streamBytes += chunk.length;
      if (streamBytes > streamLimit) {
        return callback(
          new ArtifactError(
            `the archive expands to more than ${streamLimit} bytes, more than its limits allow ` +
              `(fetch.max_bytes ${policy.limits.maxBytes}, fetch.max_entries ${policy.limits.maxEntries})`,
          ),
        );
      }
      if (head.length < 2) {
        head = Buffer.concat([head, chunk.subarray(0, 2 - head.length)]);
        if (head.length === 2 && isGzipMagic(head)) {
          return callback(new ArtifactError('the archive is compressed twice (a .tar.gz inside the .tar.gz): publish a single gzip tar'));
        }
      }
      // Padding after the end-of-archive marker is counted against the limit but not handed to node-tar, which would buffer it.
      if (sawEndOfArchive) return callback();
      let wantsMore: boolean;
      try {
        wantsMore = unpack.write(chunk);
      } catch (error) {
        return callback(toExtractionError(error as Error));
      }
      if (failure !== undefined) return callback(failure);
      if (wantsMore) return callback();
      // node-tar is busy writing entries: take the next chunk once it drains, or at once if it fails meanwhile.
      const onDrain = (): void => {
        unpack.off('drain', onDrain);
        resumeWriter = undefined;
        callback(failure);
      };
      resumeWriter = onDrain;
      unpack.on('drain', onDrain);
    },
    final(callback) {
      endUnpack().then(() => callback(failure), callback);
    },
    destroy(error, callback) {
      // Stop counting later errors: an archive cut short by the upstream failure is not the archive's fault.
      const cause = failure ?? error;
      stopping = true;
      endUnpack().then(() => callback(cause), callback);
    },
  });

  try {
    await pipeline(tarStream, sink);
  } catch (error) {
    throw failure ?? error;
  }
  await verifyFileSizes(dir, fileSizes);
  return { entries, bytes };
}
