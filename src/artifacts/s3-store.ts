// The artifact store on S3: GetObject for pointers (conditional on the ETag) and releases (streamed), errors a person can act on.
import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { awsReason, errorName, httpStatus } from '../aws/aws-reason.js';
import { s3ClientSettings } from '../aws/client-config.js';
import { ArtifactError, AwsError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { s3Url } from './pointer.js';
import { ReleaseChangedError, type ArtifactStore, type PointerRead, type ReleaseBody } from './store.js';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  logger: Logger;
  /** A client of your own (tests); by default one built from the shared SDK settings, retries included. */
  client?: S3Client;
}

/** A pointer is a few hundred bytes of JSON; anything far larger is not a pointer and is not read into memory. */
const maxPointerBytes = 64 * 1024;

type ObjectRole = 'pointer' | 'release';

/** Turns an SDK failure (after its own retries) into the error and advice for the object it concerned. */
function describeFailure(error: unknown, role: ObjectRole, bucket: string, key: string): Error {
  const url = s3Url(bucket, key);
  const name = errorName(error);
  const status = httpStatus(error);
  if (name === 'NoSuchBucket') {
    return new AwsError(`bucket "${bucket}" does not exist (reading ${url}): check the bucket name in the configuration`, { cause: error });
  }
  if (name === 'NoSuchKey' || status === 404) {
    return role === 'pointer'
      ? new ArtifactError(`pointer ${url} not found: has the release been promoted?`, { cause: error })
      : new ArtifactError(`release ${url} not found: was it published?`, { cause: error });
  }
  if (name === 'AccessDenied' || status === 403) {
    return new AwsError(
      `access denied reading ${url}: the instance's IAM role needs s3:GetObject on arn:aws:s3:::${bucket}/${key} ` +
        `and s3:ListBucket on arn:aws:s3:::${bucket} (without ListBucket, S3 also answers "access denied" for a missing key)`,
      { cause: error },
    );
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return new ReleaseChangedError(`${role} ${url} changed while it was being read (its ETag no longer matches): releases must never be overwritten`, {
      cause: error,
    });
  }
  return new AwsError(`cannot read ${url}: ${awsReason(error)}`, { cause: error });
}

function isNotModified(error: unknown): boolean {
  return httpStatus(error) === 304 || errorName(error) === 'NotModified';
}

function bodyStream(response: GetObjectCommandOutput, url: string): Readable {
  if (response.Body instanceof Readable) return response.Body;
  throw new AwsError(`cannot read ${url}: the S3 client returned no readable body`);
}

/** Reads a whole pointer body, refusing one larger than any pointer could be before it is all in memory. */
async function readPointerText(body: Readable, url: string): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      length += buffer.length;
      if (length > maxPointerBytes) {
        body.destroy();
        throw new ArtifactError(`pointer ${url} is over ${maxPointerBytes} bytes, too large to be a pointer: republish it with "pulldeploy promote"`);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof ArtifactError) throw error;
    throw new AwsError(`cannot read ${url}: ${awsReason(error)}`, { cause: error });
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createS3Store(options: S3StoreOptions): ArtifactStore {
  const { bucket, logger } = options;
  const client = options.client ?? new S3Client(s3ClientSettings(options.region));
  const url = (key: string): string => s3Url(bucket, key);

  return {
    bucket,
    url,

    async readPointer(key: string, etag?: string): Promise<PointerRead> {
      logger.debug(`reading pointer ${url(key)}${etag !== undefined ? ` unless its ETag is still ${etag}` : ''}`);
      let response: GetObjectCommandOutput;
      try {
        response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(etag !== undefined ? { IfNoneMatch: etag } : {}) }));
      } catch (error) {
        if (etag !== undefined && isNotModified(error)) return { status: 'unchanged' };
        throw describeFailure(error, 'pointer', bucket, key);
      }
      const text = await readPointerText(bodyStream(response, url(key)), url(key));
      return { status: 'found', text, etag: response.ETag };
    },

    async openRelease(key: string, range?: { start: number; etag: string }): Promise<ReleaseBody> {
      logger.debug(`opening release ${url(key)}${range !== undefined ? ` from byte ${range.start}` : ''}`);
      const conditions = range !== undefined ? { Range: `bytes=${range.start}-`, IfMatch: range.etag } : {};
      let response: GetObjectCommandOutput;
      try {
        response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...conditions }));
      } catch (error) {
        throw describeFailure(error, 'release', bucket, key);
      }
      return { body: bodyStream(response, url(key)), size: response.ContentLength, etag: response.ETag };
    },
  };
}
