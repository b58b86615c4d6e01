// `publish`: a packed release into <prefix>/<service>/releases/<version>.tar.gz, never over an existing version unless forced.
import { open, stat } from 'node:fs/promises';
import { releaseKey, s3Url, type Pointer } from '../artifacts/pointer.js';
import { UsageError, describeError } from '../errors.js';
import { digestFile } from './file-digest.js';
import { ReleaseExistsError } from './errors.js';
import type { PublisherContext } from './publisher-context.js';
import type { Progress } from '../log/progress.js';
import { hashStoredRelease, headRelease } from './stored-release.js';
import { uploadRelease } from './upload.js';

export interface PublishRequest {
  service: string;
  version: string;
  file: string;
  force: boolean;
  dryRun: boolean;
  partSize: number;
  concurrency: number;
  /** Builds the progress bar once the size is known. */
  progress: (total: number) => Progress;
}

export interface PublishResult {
  url: string;
  /** 'unchanged': the version already held these very bytes, so nothing was uploaded. */
  outcome: 'created' | 'overwritten' | 'unchanged' | 'dry-run';
  /** The pointer that `promote` would write for this release (without its promotion fields). */
  pointer: Pointer;
}

const gzipMagic = [0x1f, 0x8b];

async function checkFile(file: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${describeError(error)}`, { cause: error });
  }
  if (!isFile) throw new UsageError(`${file} is not a regular file: publish takes the .tar.gz made by "pulldeploy pack"`);
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    if (bytesRead < 2 || head[0] !== gzipMagic[0] || head[1] !== gzipMagic[1]) {
      throw new UsageError(`${file} is not gzip data: a release is a .tar.gz; make one with "pulldeploy pack DIR -o FILE.tar.gz"`);
    }
  } finally {
    await handle.close();
  }
}

/** The sha256 of what S3 already holds under the key, from its recorded digest or by reading it. */
async function storedSha256(context: PublisherContext, key: string): Promise<string | undefined> {
  const stored = await headRelease(context.s3, context.bucket, key);
  if (stored === undefined) return undefined;
  return stored.sha256 ?? (await hashStoredRelease(context.s3, context.bucket, key, stored.etag));
}

export async function publishRelease(context: PublisherContext, request: PublishRequest): Promise<PublishResult> {
  const { service, version, file, force } = request;
  const { bucket, logger } = context;
  await checkFile(file);
  const digest = await digestFile(file);
  const key = releaseKey(context.prefix, service, version);
  const url = s3Url(bucket, key);
  const pointer: Pointer = { version, sha256: digest.sha256, size: digest.size };
  const refuse = (existing: string) =>
    new ReleaseExistsError(
      `release ${url} already exists with other bytes (sha256 ${existing}, yours ${digest.sha256}): releases are immutable, ` +
        'so publish this build under a new version (or pass --force to replace it, which instances that already fetched it never notice)',
    );
  const unchanged = (): PublishResult => {
    logger.info(`${url} already holds these exact bytes (sha256 ${digest.sha256}): nothing to upload`);
    return { url, outcome: 'unchanged', pointer };
  };

  // Only a shortcut to spare the upload: the conditional create below is what refuses an existing version.
  const existing = await storedSha256(context, key);
  if (existing === digest.sha256) return unchanged();
  if (existing !== undefined && !force) throw refuse(existing);
  if (request.dryRun) {
    logger.info(`dry run: would upload ${file} (${digest.size} bytes, sha256 ${digest.sha256}) to ${url}${existing !== undefined ? ', replacing it' : ''}`);
    return { url, outcome: 'dry-run', pointer };
  }
  if (existing !== undefined) {
    logger.warn(
      `--force: replacing ${url} (sha256 ${existing}) with other bytes; instances keep what they fetched, ` +
        'and pointers still naming the old sha256 will fail verification until promoted again',
    );
  }

  const progress = request.progress(digest.size);
  let outcome: 'created' | 'exists';
  try {
    outcome = await uploadRelease({
      s3: context.s3,
      bucket,
      key,
      file,
      digest,
      partSize: request.partSize,
      concurrency: request.concurrency,
      overwrite: force,
      progress,
      logger,
    });
  } finally {
    progress.finish();
  }
  if (outcome === 'exists') {
    // Someone published the same version between the check above and the upload.
    const winner = await storedSha256(context, key);
    if (winner === digest.sha256) return unchanged();
    throw refuse(winner ?? 'unknown');
  }
  logger.info(`published ${file} as ${url} (${digest.size} bytes, sha256 ${digest.sha256})`);
  return { url, outcome: existing !== undefined ? 'overwritten' : 'created', pointer };
}
