// What an S3 SDK failure was, for the publisher's decisions and messages: its HTTP status and error name.
import { awsReason, errorName, httpStatus } from '../aws/aws-reason.js';
import { AwsError } from '../errors.js';

export function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(error) === 404 && name !== 'NoSuchBucket');
}

/** A conditional write refused: the object exists (If-None-Match: *) or has another ETag (If-Match). */
export function isPreconditionFailed(error: unknown): boolean {
  return errorName(error) === 'PreconditionFailed' || httpStatus(error) === 412;
}

/** S3 answers 409 ConditionalRequestConflict when another conditional write to the same key is in flight. */
export function isConditionalConflict(error: unknown): boolean {
  return errorName(error) === 'ConditionalRequestConflict' || httpStatus(error) === 409;
}

/** The server computed another digest of the bytes it received than the one sent with them. */
export function isBadDigest(error: unknown): boolean {
  const name = errorName(error);
  return name === 'BadDigest' || name === 'InvalidDigest' || name === 'XAmzContentSHA256Mismatch';
}

/** Any other failure: access, a missing bucket, the network; `doing` says what was tried, e.g. "uploading s3://b/k". */
export function describeS3Failure(error: unknown, doing: string, bucket: string, permission: string): AwsError {
  const name = errorName(error);
  const status = httpStatus(error);
  if (name === 'NoSuchBucket') {
    return new AwsError(`bucket "${bucket}" does not exist (${doing}): check --bucket, PULLDEPLOY_BUCKET or "bucket" in the configuration`, {
      cause: error,
    });
  }
  if (name === 'AccessDenied' || status === 403) {
    return new AwsError(`access denied ${doing}: the CI role needs ${permission} on arn:aws:s3:::${bucket}`, { cause: error });
  }
  return new AwsError(`failed ${doing}: ${awsReason(error)}`, { cause: error });
}
