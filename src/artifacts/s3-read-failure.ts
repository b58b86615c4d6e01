// What a failed S3 read of a pointer or release means for the person reading the log: one mapping for every client.
import { ArtifactError, AwsError } from '../errors.js';
import { s3Url } from './pointer.js';
import { ReleaseChangedError } from './store.js';

export type S3ObjectRole = 'pointer' | 'release';

/** A failed GetObject as any client saw it, after its own retries. */
export interface S3ReadFailure {
  /** S3's error code (`NoSuchKey`, `NoSuchBucket`, `AccessDenied`), when it sent one. */
  code: string | undefined;
  status: number | undefined;
  /** What went wrong, in the words of the service or the network: `InternalError: We encountered…`. */
  reason: string;
  cause: unknown;
}

/** The error and advice for a failed read of the object `key` in its role. */
export function describeS3ReadFailure(failure: S3ReadFailure, role: S3ObjectRole, bucket: string, key: string): Error {
  const url = s3Url(bucket, key);
  const { code, status, cause } = failure;
  if (code === 'NoSuchBucket') {
    return new AwsError(`bucket "${bucket}" does not exist (reading ${url}): check the bucket name in the configuration`, { cause });
  }
  if (code === 'NoSuchKey' || status === 404) {
    return role === 'pointer'
      ? new ArtifactError(`pointer ${url} not found: has the release been promoted?`, { cause })
      : new ArtifactError(`release ${url} not found: was it published?`, { cause });
  }
  // 403s that are not about the policy: said apart, or the advice would send a person to IAM for a clock or a key.
  if (code === 'RequestTimeTooSkewed') {
    return new AwsError(
      `S3 refused the request to read ${url}: this machine's clock is more than 15 minutes off (${failure.reason}); ` +
        'check its time synchronisation (chronyc tracking, timedatectl) and run again',
      { cause },
    );
  }
  if (code === 'SignatureDoesNotMatch' || code === 'InvalidAccessKeyId' || code === 'ExpiredToken' || code === 'InvalidToken') {
    return new AwsError(
      `S3 refused the credentials reading ${url} (${failure.reason}): check the AWS keys or instance profile this machine uses`,
      { cause },
    );
  }
  if (code === 'AccessDenied' || status === 403) {
    return new AwsError(
      `access denied reading ${url}: the instance's IAM role needs s3:GetObject on arn:aws:s3:::${bucket}/${key} ` +
        `and s3:ListBucket on arn:aws:s3:::${bucket} (without ListBucket, S3 also answers "access denied" for a missing key)`,
      { cause },
    );
  }
  if (code === 'PreconditionFailed' || status === 412) {
    return new ReleaseChangedError(`${role} ${url} changed while it was being read (its ETag no longer matches): releases must never be overwritten`, {
      cause,
    });
  }
  return new AwsError(`cannot read ${url}: ${failure.reason}`, { cause });
}
