// The artifact store on S3: GetObject for pointers (conditional on the ETag) and releases (streamed), errors a person can act on.
import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { awsReason, errorName, httpStatus } from '../aws/aws-reason.js';
import { s3ClientSettings } from '../aws/client-config.js';
import { AwsError } from '../errors.js';
import { s3Url } from './pointer.js';
import { readPointerText } from './pointer-body.js';
import { describeS3ReadFailure, type S3ObjectRole } from './s3-read-failure.js';
import type { ArtifactStore, PointerRead, ReleaseBody } from './store.js';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  /** A client of your own (tests); by default one built from the shared SDK settings, retries included. */
  client?: S3Client;
}

/** Turns an SDK failure (after its own retries) into the error and advice for the object it concerned. */
function describeFailure(error: unknown, role: S3ObjectRole, bucket: string, key: string): Error {
  return describeS3ReadFailure({ code: errorName(error), status: httpStatus(error), reason: awsReason(error), cause: error }, role, bucket, key);
}

function isNotModified(error: unknown): boolean {
  return httpStatus(error) === 304 || errorName(error) === 'NotModified';
}

function bodyStream(response: GetObjectCommandOutput, url: string): Readable {
  if (response.Body instanceof Readable) return response.Body;
  throw new AwsError(`cannot read ${url}: the S3 client returned no readable body`);
}

export function createS3Store(options: S3StoreOptions): ArtifactStore {
  const { bucket } = options;
  const client = options.client ?? new S3Client(s3ClientSettings(options.region));
  const url = (key: string): string => s3Url(bucket, key);

  return {
    bucket,
    url,

    async readPointer(key: string, etag?: string): Promise<PointerRead> {
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
