// Fetches one release (DESIGN.md §4 step 4): one streamed GET into sha256 and a safe extract, verified, synced, then renamed into place.
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { ArtifactError, AwsError, describeError, explainHostError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { syncDirectory, uniqueSuffix } from '../release/durable.js';
import { errorCode } from '../errors.js';
import { releaseMarkerFile } from '../release/layout.js';
import { crashPoint } from '../state/crash-point.js';
import { EntryPolicy, type EntryLimits } from './entry-policy.js';
import { extractTar } from './extract.js';
import { isSafeVersion } from './pointer.js';
import { RestartDownload, resumableBody, type ConnectionBudget } from './resumable-body.js';
import type { ArtifactStore } from './store.js';
import { startWriteback, syncTree } from './sync-tree.js';

export interface FetchReleaseOptions {
  store: ArtifactStore;
  key: string;
  version: string;
  /** The pointer's sha256 of the .tar.gz bytes. */
  sha256: string;
  /** `srv/<service>/releases`; the release lands in `<releasesDir>/<version>`. */
  releasesDir: string;
  limits: EntryLimits;
  /** Connections tried in all when the network fails mid-transfer, resumptions included (1 = no retry). */
  attempts: number;
  logger: Logger;
  /** Pause before the first retry, doubled before each later one. Default 1 s. */
  retryDelayMs?: number;
  /** A body that sends nothing for this long is abandoned (and resumed). Default 60 s. */
  idleTimeoutMs?: number;
  /** Download bytes between early flushes of what is extracted so far (sync-tree.ts). Default 32 MiB. */
  writebackEveryBytes?: number;
}

export interface FetchedRelease {
  dir: string;
  /** True when the release was already in place and verified, so nothing was extracted. */
  reused: boolean;
  /** Size of the .tar.gz the digest covers. */
  bytes: number;
}

/** The marker written into every release before it is renamed into place: what was verified, and when. */
export interface ReleaseMarker {
  format: 1;
  version: string;
  sha256: string;
  bytes: number;
  fetched_at: string;
}

/** zlib output chunks: 256 KiB halves download+gunzip time against the 16 KiB default (RESEARCH.md). */
const gunzipChunkSize = 256 * 1024;
const defaultRetryDelayMs = 1_000;
const defaultIdleTimeoutMs = 60_000;
const defaultWritebackEveryBytes = 32 * 1024 * 1024;

type ReleaseDirState = { state: 'absent' } | { state: 'verified'; marker: ReleaseMarker } | { state: 'leftover' };

async function readMarker(dir: string): Promise<ReleaseMarker | undefined> {
  try {
    const marker: unknown = JSON.parse(await readFile(join(dir, releaseMarkerFile), 'utf8'));
    if (typeof marker !== 'object' || marker === null) return undefined;
    const { format, version, sha256, bytes, fetched_at } = marker as Record<string, unknown>;
    if (format !== 1 || typeof version !== 'string' || typeof sha256 !== 'string') return undefined;
    if (typeof bytes !== 'number' || typeof fetched_at !== 'string') return undefined;
    return { format, version, sha256, bytes, fetched_at };
  } catch {
    // Missing or unreadable: not a release this program verified.
    return undefined;
  }
}

/** What is at `dir` now: nothing, this very release verified earlier, or something else in the way. */
async function inspectReleaseDir(dir: string, version: string, sha256: string): Promise<ReleaseDirState> {
  try {
    if (!(await lstat(dir)).isDirectory()) return { state: 'leftover' };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { state: 'absent' };
    throw error;
  }
  const marker = await readMarker(dir);
  return marker?.version === version && marker.sha256 === sha256 ? { state: 'verified', marker } : { state: 'leftover' };
}

/** Renames `<releasesDir>/<version>` out of the way first, so a half-deleted tree never sits under a release name, then deletes it. */
async function moveAside(releasesDir: string, version: string, logger: Logger): Promise<void> {
  const stale = join(releasesDir, `.stale-${version}-${uniqueSuffix()}`);
  try {
    await rename(join(releasesDir, version), stale);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  try {
    await rm(stale, { recursive: true, force: true });
  } catch (error) {
    logger.warn(`moved ${join(releasesDir, version)} aside to ${stale} but could not delete it (a later prune retries): ${describeError(error)}`);
  }
}

/** Errors of the stream, made into messages naming the release; network errors pass through for the retry decision. */
function explainStreamFailure(error: unknown, url: string): unknown {
  if (error instanceof ArtifactError) return new ArtifactError(`release ${url}: ${error.message}`, { cause: error });
  if (errorCode(error)?.startsWith('Z_')) {
    return new ArtifactError(`release ${url} is not a valid gzip stream (${describeError(error)}): republish it`, { cause: error });
  }
  return error;
}

/** Streams the release once: body → sha256 → gunzip → safe extract into `dir`; resolves only once all of it checked out. */
async function downloadInto(
  dir: string,
  options: FetchReleaseOptions,
  url: string,
  budget: ConnectionBudget,
): Promise<{ bytes: number; entries: number; extracted: number }> {
  budget.used += 1;
  const first = await options.store.openRelease(options.key);
  // A dropped connection is resumed inside this stream, so what follows sees one unbroken body.
  const body = resumableBody(first, {
    store: options.store,
    key: options.key,
    url,
    budget,
    retryDelayMs: options.retryDelayMs ?? defaultRetryDelayMs,
    idleTimeoutMs: options.idleTimeoutMs ?? defaultIdleTimeoutMs,
    logger: options.logger,
  });
  const half = first.size === undefined ? Infinity : first.size / 2;
  const hash = createHash('sha256');
  let bytes = 0;
  const writeback = startWriteback(dir);
  const writebackEvery = options.writebackEveryBytes ?? defaultWritebackEveryBytes;
  let writebackAt = writebackEvery;
  // The hash sits before gunzip, so it covers every compressed byte, trailing ones included.
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes >= half) crashPoint('fetch:mid-body');
      if (bytes >= writebackAt) {
        writebackAt = bytes + writebackEvery;
        writeback.kick();
      }
      callback(null, chunk);
    },
  });
  const gunzip = createGunzip({ chunkSize: gunzipChunkSize });
  const [download, extraction] = await Promise.allSettled([
    pipeline(body, hashing, gunzip),
    extractTar(gunzip, dir, new EntryPolicy(options.limits)),
  ]);
  // No flush outlives the download: a failed one's directory is about to be removed.
  await writeback.settled();

  if (extraction.status === 'rejected') throw explainStreamFailure(extraction.reason, url);
  if (download.status === 'rejected') throw explainStreamFailure(download.reason, url);
  // zlib stops quietly at the end of the last gzip member; whatever follows it was never checked by anyone.
  if (gunzip.bytesWritten !== bytes) {
    throw new ArtifactError(
      `release ${url} has ${bytes - gunzip.bytesWritten} bytes of trailing data after its gzip stream: it is damaged; republish it`,
    );
  }
  const digest = hash.digest('hex');
  if (digest !== options.sha256) {
    throw new ArtifactError(
      `release ${url} does not match its pointer: expected sha256 ${options.sha256}, got ${digest} (${bytes} bytes); ` +
        'republish the release or correct the pointer',
    );
  }
  return { bytes, entries: extraction.value.entries, extracted: extraction.value.bytes };
}

async function writeMarker(dir: string, marker: ReleaseMarker, url: string): Promise<void> {
  let handle;
  try {
    // Exclusive create: a marker (or a link by that name) shipped inside the release is refused, never written through.
    handle = await open(join(dir, releaseMarkerFile), 'wx', 0o644);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') {
      throw new ArtifactError(`release ${url} contains ${releaseMarkerFile}, a name pulldeploy keeps for itself: remove it and republish`);
    }
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(marker, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames the verified tree into place; if another run got there first with the same release, keeps theirs. */
async function placeRelease(incoming: string, options: FetchReleaseOptions): Promise<'placed' | 'existing'> {
  const target = join(options.releasesDir, options.version);
  try {
    await rename(incoming, target);
    return 'placed';
  } catch (error) {
    if (!['ENOTEMPTY', 'EEXIST', 'ENOTDIR', 'EISDIR'].includes(errorCode(error) ?? '')) throw error;
  }
  if ((await inspectReleaseDir(target, options.version, options.sha256)).state === 'verified') {
    await rm(incoming, { recursive: true, force: true });
    return 'existing';
  }
  await moveAside(options.releasesDir, options.version, options.logger);
  await rename(incoming, target);
  return 'placed';
}

/** One complete attempt in a fresh `.incoming-*` directory, which is removed whatever goes wrong. */
async function fetchOnce(options: FetchReleaseOptions, url: string, budget: ConnectionBudget): Promise<FetchedRelease> {
  const { releasesDir, version, logger } = options;
  const started = Date.now();
  // Beside the target, so the final rename stays on one filesystem and is atomic; the pid tells a later
  // run that a leftover of a killed run is nobody's work in progress.
  const incoming = await mkdtemp(join(releasesDir, `.incoming-${version}-${process.pid}-`));
  try {
    const download = await downloadInto(incoming, options, url, budget);
    // mkdtemp made it 0700; the release must be readable by the service's own user.
    await chmod(incoming, 0o755);
    await writeMarker(incoming, { format: 1, version, sha256: options.sha256, bytes: download.bytes, fetched_at: new Date().toISOString() }, url);
    await syncTree(incoming);
    crashPoint('fetch:before-rename');
    const placed = await placeRelease(incoming, options);
    await syncDirectory(releasesDir);
    const durationMs = Date.now() - started;
    logger.verbose(
      `fetched ${url}: ${download.bytes} bytes, ${download.entries} entries (${download.extracted} bytes extracted) in ${durationMs} ms` +
        (placed === 'existing' ? '; another run had already placed it, keeping theirs' : ''),
      { version, bytes: download.bytes, entries: download.entries, extracted_bytes: download.extracted, duration_ms: durationMs },
    );
    return { dir: join(releasesDir, version), reused: placed === 'existing', bytes: download.bytes };
  } catch (error) {
    await rm(incoming, { recursive: true, force: true });
    // Said here, where it is known what was being written: a write to an open file names no path.
    throw explainHostError(error, releasesDir, `fetching ${url} (nothing of it was kept)`) ?? error;
  }
}

/**
 * Makes `<releasesDir>/<version>` hold the verified release: reused when its marker records the same sha256,
 * otherwise downloaded and extracted into `.incoming-*` and renamed into place only once the digest matched.
 * On failure nothing is left behind. A connection that fails mid-transfer is resumed from the byte where it broke
 * off while the object keeps its ETag, or the download starts again; `attempts` connections in all.
 */
export async function fetchRelease(options: FetchReleaseOptions): Promise<FetchedRelease> {
  const { store, version, releasesDir, logger } = options;
  const url = store.url(options.key);
  if (!isSafeVersion(version)) {
    throw new ArtifactError(`release version ${JSON.stringify(version)} of ${url} cannot be a directory name: fix the pointer`);
  }
  const target = join(releasesDir, version);
  await mkdir(releasesDir, { recursive: true });
  const existing = await inspectReleaseDir(target, version, options.sha256);
  if (existing.state === 'verified') {
    logger.verbose(`release ${version} is already in ${target} and verified: reusing it`);
    return { dir: target, reused: true, bytes: existing.marker.bytes };
  }
  if (existing.state === 'leftover') {
    // Replaced only once the new copy is verified: `current` may point at it and must not dangle during a download.
    logger.warn(`${target} is not a verified copy of ${url} (no marker, or another sha256): replacing it once the download is verified`);
  }

  const budget: ConnectionBudget = { limit: Math.max(1, options.attempts), used: 0 };
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  for (let restarts = 0; ; restarts += 1) {
    try {
      return await fetchOnce(options, url, budget);
    } catch (error) {
      if (!(error instanceof RestartDownload)) throw error;
      if (budget.used >= budget.limit) {
        throw new AwsError(`download of ${url} failed after ${budget.used} attempts: ${error.message}`, { cause: error });
      }
      const delayMs = retryDelayMs * 2 ** restarts;
      logger.warn(`${error.message}; downloading it again from the start in ${delayMs} ms (attempt ${budget.used + 1} of ${budget.limit})`);
      await sleep(delayMs);
    }
  }
}
