// `pack`: a directory into a deterministic .tar.gz (same tree, same bytes), written atomically, with its sha256.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ArtifactError, UsageError, describeError, errorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { listPackEntries, nonExecutableHooks, type PackEntry } from './pack-tree.js';
import { endOfArchive, padding, tarHeader } from './tar-header.js';

export interface PackRequest {
  dir: string;
  output: string;
  /** Seconds since the epoch recorded as every entry's mtime. */
  mtime: number;
  logger: Logger;
}

export interface PackResult {
  file: string;
  sha256: string;
  size: number;
  entries: number;
}

/** The mtime every entry gets: SOURCE_DATE_EPOCH when set (the reproducible-builds convention), else 0. */
export function packMtime(sourceDateEpoch: string | undefined): number {
  if (sourceDateEpoch === undefined || sourceDateEpoch === '') return 0;
  if (!/^\d{1,11}$/.test(sourceDateEpoch)) {
    throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got ${JSON.stringify(sourceDateEpoch)}`);
  }
  return Number(sourceDateEpoch);
}

async function checkDirectories(dir: string, output: string): Promise<string> {
  let realDir: string;
  try {
    realDir = await realpath(dir);
    if (!(await stat(realDir)).isDirectory()) throw new UsageError(`${dir} is not a directory: pack takes the directory a release is made of`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot pack ${dir}: ${errorCode(error) === 'ENOENT' ? 'no such directory' : describeError(error)}`, { cause: error });
  }
  let realOutputDir: string;
  try {
    realOutputDir = await realpath(dirname(resolve(output)));
  } catch (error) {
    throw new UsageError(`cannot write ${output}: its directory ${dirname(resolve(output))} does not exist`, { cause: error });
  }
  const inside = relative(realDir, realOutputDir);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new UsageError(`the output ${output} is inside ${dir}: it would pack itself; write it outside the directory`);
  }
  return realDir;
}

/** Header, content and padding of each entry, then the end of the archive; a file that changes size while read is refused. */
async function* tarStream(entries: readonly PackEntry[], mtime: number): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield tarHeader({ path: entry.path, kind: entry.kind, mode: entry.mode, size: entry.size, mtime, ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}) });
    if (entry.kind !== 'file') continue;
    let read = 0;
    try {
      for await (const chunk of createReadStream(entry.source, { highWaterMark: 256 * 1024 })) {
        const buffer = chunk as Buffer;
        read += buffer.length;
        if (read > entry.size) break;
        yield buffer;
      }
    } catch (error) {
      throw new UsageError(`cannot read ${entry.source}: ${describeError(error)}`, { cause: error });
    }
    if (read !== entry.size) {
      throw new ArtifactError(`cannot pack ${entry.source}: it changed size while it was being packed (${entry.size} bytes listed, ${read} read); pack again once it is stable`);
    }
    yield padding(entry.size);
  }
  yield endOfArchive();
}

export async function packDirectory(request: PackRequest): Promise<PackResult> {
  const { dir, output, mtime, logger } = request;
  const realDir = await checkDirectories(dir, output);
  const entries = await listPackEntries(realDir);
  for (const hook of nonExecutableHooks(entries)) {
    logger.warn(`${hook} is not executable: the agent skips it; run "chmod +x ${join(dir, hook)}" if it is meant to run`);
  }

  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // Written beside the output and renamed over it, so a failed pack never leaves a truncated tarball under the final name.
  const temporary = join(dirname(resolve(output)), `.${basename(output)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // gzip's header carries no name and mtime 0 in Node's zlib: the compressed bytes depend on the tar bytes alone.
    await pipeline(Readable.from(tarStream(entries, mtime)), createGzip({ level: 6 }), measure, createWriteStream(temporary, { flags: 'wx', mode: 0o644 }));
    await rename(temporary, output);
  } catch (error) {
    await rm(temporary, { force: true });
    if (error instanceof ArtifactError || error instanceof UsageError) throw error;
    throw new UsageError(`cannot write ${output}: ${describeError(error)}`, { cause: error });
  }
  const sha256 = hash.digest('hex');
  logger.info(`packed ${entries.length} entries of ${dir} into ${output} (${size} bytes, sha256 ${sha256})`);
  return { file: output, sha256, size, entries: entries.length };
}
