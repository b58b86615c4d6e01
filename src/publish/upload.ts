// Uploads a release as a conditional create, in one PUT or in parts, each request carrying the SHA-256 and MD5 S3 checks its bytes against.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { s3Url } from '../artifacts/pointer.js';
import { ArtifactError, describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { digestBuffer, type FileDigest } from './file-digest.js';
import type { Progress } from '../log/progress.js';
import { describeS3Failure, isBadDigest, isPreconditionFailed } from './s3-failure.js';
import { sha256MetadataKey } from './stored-release.js';

export interface UploadRequest {
  s3: S3Client;
  bucket: string;
  key: string;
  file: string;
  digest: FileDigest;
  /** Files larger than this go up in parts of this size (S3 wants at least 5 MiB per part). */
  partSize: number;
  /** Parts in flight at once. */
  concurrency: number;
  /** Without it the write is a conditional create (If-None-Match: *), refused by S3 when the key exists. */
  overwrite: boolean;
  progress: Progress;
  logger: Logger;
}

/** 'exists': the key was already there and nothing was written. */
export type UploadOutcome = 'created' | 'exists';

const contentType = 'application/gzip';
const writePermission = 's3:PutObject';

function corruptedInTransit(url: string, error: unknown): ArtifactError {
  return new ArtifactError(
    `S3 refused the upload of ${url}: the bytes it received do not match the checksum sent with them (${describeError(error)}); ` +
      'they were corrupted on the way, nothing was stored: run publish again',
    { cause: error },
  );
}

async function readExactly(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

function changedWhileUploading(file: string): ArtifactError {
  return new ArtifactError(`${file} changed while it was being uploaded: its sha256 is no longer the one computed first; publish it again once it is stable`);
}

export async function uploadRelease(request: UploadRequest): Promise<UploadOutcome> {
  const handle = await open(request.file, 'r');
  try {
    return request.digest.size > request.partSize ? await uploadInParts(request, handle) : await uploadWhole(request, handle);
  } finally {
    await handle.close();
  }
}

/** One PUT from memory (at most one part's size), so the SDK can resend it on a retry. */
async function uploadWhole(request: UploadRequest, handle: FileHandle): Promise<UploadOutcome> {
  const { s3, bucket, key, digest } = request;
  const url = s3Url(bucket, key);
  const body = await readExactly(handle, 0, digest.size);
  if (body.length !== digest.size || createHash('sha256').update(body).digest('hex') !== digest.sha256) throw changedWhileUploading(request.file);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: contentType,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: digest.sha256Base64,
        ContentMD5: digest.md5Base64,
        Metadata: { [sha256MetadataKey]: digest.sha256 },
        ...(request.overwrite ? {} : { IfNoneMatch: '*' }),
      }),
    );
  } catch (error) {
    if (!request.overwrite && isPreconditionFailed(error)) return 'exists';
    if (isBadDigest(error)) throw corruptedInTransit(url, error);
    throw describeS3Failure(error, `uploading ${url}`, bucket, writePermission);
  }
  request.progress.advance(body.length);
  return 'created';
}

/**
 * Parts are read in order (hashing the whole file again as they go) and uploaded a few at a time, each with its own
 * SHA-256 and MD5. The upload is completed with If-None-Match: *, so the release appears whole or not at all, and
 * only if no one created it meanwhile; on any failure the upload is aborted, leaving nothing behind.
 */
async function uploadInParts(request: UploadRequest, handle: FileHandle): Promise<UploadOutcome> {
  const { s3, bucket, key, digest, partSize, logger } = request;
  const url = s3Url(bucket, key);
  let uploadId: string | undefined;
  try {
    const created = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: contentType,
        ChecksumAlgorithm: 'SHA256',
        Metadata: { [sha256MetadataKey]: digest.sha256 },
      }),
    );
    uploadId = created.UploadId;
  } catch (error) {
    throw describeS3Failure(error, `starting the upload of ${url}`, bucket, writePermission);
  }
  if (uploadId === undefined) throw new ArtifactError(`S3 started no multipart upload for ${url} (no UploadId in its answer)`);
  const id = uploadId;

  try {
    const parts = await uploadParts(request, handle, id);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: id,
        MultipartUpload: { Parts: parts },
        ...(request.overwrite ? {} : { IfNoneMatch: '*' }),
      }),
    );
    return 'created';
  } catch (error) {
    await abortUpload(s3, bucket, key, id, logger);
    if (!request.overwrite && isPreconditionFailed(error)) return 'exists';
    if (error instanceof ArtifactError) throw error;
    if (isBadDigest(error)) throw corruptedInTransit(url, error);
    throw describeS3Failure(error, `uploading ${url} in parts of ${partSize} bytes`, bucket, `${writePermission} and s3:AbortMultipartUpload`);
  }
}

async function uploadParts(request: UploadRequest, handle: FileHandle, uploadId: string): Promise<CompletedPart[]> {
  const { s3, bucket, key, digest, partSize, concurrency, progress } = request;
  const count = Math.ceil(digest.size / partSize);
  const parts: CompletedPart[] = new Array<CompletedPart>(count);
  const whole = createHash('sha256');
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;

  const send = async (number: number, body: Buffer): Promise<void> => {
    const { sha256Base64, md5Base64 } = digestBuffer(body);
    const answer = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: number,
        Body: body,
        ContentLength: body.length,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: sha256Base64,
        ContentMD5: md5Base64,
      }),
    );
    parts[number - 1] = { PartNumber: number, ETag: answer.ETag, ChecksumSHA256: sha256Base64 };
    progress.advance(body.length);
  };

  for (let number = 1; number <= count && failure === undefined; number += 1) {
    const body = await readExactly(handle, (number - 1) * partSize, Math.min(partSize, digest.size - (number - 1) * partSize));
    whole.update(body);
    // Never rejects: the first failure is kept and stops the loop, so no rejection goes unhandled.
    const task: Promise<void> = send(number, body).catch((error: unknown) => {
      failure ??= { error };
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure.error;
  if (whole.digest('hex') !== digest.sha256) throw changedWhileUploading(request.file);
  return parts;
}

/** Best effort: an upload left open costs storage until a lifecycle rule removes it, so say so when abort fails. */
async function abortUpload(s3: S3Client, bucket: string, key: string, uploadId: string, logger: Logger): Promise<void> {
  try {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  } catch (error) {
    logger.warn(
      `could not abort the multipart upload ${uploadId} of ${s3Url(bucket, key)} (${describeError(error)}): ` +
        'its parts are stored until it is aborted; add an AbortIncompleteMultipartUpload lifecycle rule to the bucket',
    );
  }
}
