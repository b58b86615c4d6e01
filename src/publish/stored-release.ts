// A published release as S3 holds it: its size, date and recorded sha256 (from S3's checksum or publish's metadata), or its bytes hashed.
import { GetObjectCommand, HeadObjectCommand, type GetObjectCommandOutput, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { s3Url } from '../artifacts/pointer.js';
import { ArtifactError, AwsError } from '../errors.js';
import { awsReason } from '../aws/aws-reason.js';
import { describeS3Failure, isNotFound, isPreconditionFailed } from './s3-failure.js';

/** User metadata key (`x-amz-meta-sha256`) where publish records the hex sha256 of the whole object. */
export const sha256MetadataKey = 'sha256';

export interface StoredRelease {
  url: string;
  size: number;
  etag: string | undefined;
  lastModified: Date | undefined;
  /** The whole object's sha256 as recorded at publish, if it was. */
  sha256: string | undefined;
  /** Where `sha256` came from: S3's own full-object checksum, or the metadata publish wrote. */
  digestSource: 'checksum' | 'metadata' | undefined;
}

const hexPattern = /^[0-9a-f]{64}$/;

/**
 * S3's SHA-256 checksum names the whole object only for a single PUT; after a multipart upload it is a
 * checksum of the parts' checksums (ChecksumType COMPOSITE, an ETag ending in "-<parts>"), useless here.
 */
function fullObjectChecksum(head: HeadObjectCommandOutput): string | undefined {
  const value = head.ChecksumSHA256;
  if (value === undefined || value.includes('-') || head.ChecksumType === 'COMPOSITE') return undefined;
  if (head.ETag !== undefined && /-\d+"?$/.test(head.ETag)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}

/** HEADs the release; undefined when there is none. Two recorded digests that disagree are refused. */
export async function headRelease(s3: S3Client, bucket: string, key: string): Promise<StoredRelease | undefined> {
  const url = s3Url(bucket, key);
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw describeS3Failure(error, `reading ${url}`, bucket, 's3:GetObject (and s3:ListBucket, without which a missing key reads as "access denied")');
  }
  const checksum = fullObjectChecksum(head);
  const recorded = head.Metadata?.[sha256MetadataKey]?.toLowerCase();
  const metadata = recorded !== undefined && hexPattern.test(recorded) ? recorded : undefined;
  if (checksum !== undefined && metadata !== undefined && checksum !== metadata) {
    throw new ArtifactError(
      `release ${url} carries two different sha256: S3's checksum says ${checksum}, its x-amz-meta-sha256 says ${metadata}; ` +
        'it was rewritten by something other than "pulldeploy publish": publish the build again under a new version',
    );
  }
  return {
    url,
    size: head.ContentLength ?? 0,
    etag: head.ETag,
    lastModified: head.LastModified,
    sha256: checksum ?? metadata,
    digestSource: checksum !== undefined ? 'checksum' : metadata !== undefined ? 'metadata' : undefined,
  };
}

/** Streams the release and hashes every byte; with `etag`, only while the object still has it. */
export async function hashStoredRelease(s3: S3Client, bucket: string, key: string, etag: string | undefined): Promise<string> {
  const url = s3Url(bucket, key);
  let response: GetObjectCommandOutput;
  try {
    response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(etag !== undefined ? { IfMatch: etag } : {}) }));
  } catch (error) {
    if (isNotFound(error) || isPreconditionFailed(error)) {
      throw new ArtifactError(`release ${url} was deleted or replaced while it was being checked: releases must never change`, { cause: error });
    }
    throw describeS3Failure(error, `reading ${url}`, bucket, 's3:GetObject');
  }
  if (!(response.Body instanceof Readable)) throw new AwsError(`cannot read ${url}: the S3 client returned no readable body`);
  const hash = createHash('sha256');
  try {
    for await (const chunk of response.Body) hash.update(chunk as Buffer);
  } catch (error) {
    throw new AwsError(`cannot read ${url} to hash it: ${awsReason(error)}`, { cause: error });
  }
  return hash.digest('hex');
}
