// Reading a pointer together with its ETag, and writing it back only if it is still what was read (S3 conditional writes).
import { GetObjectCommand, PutObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { parsePointer, s3Url, type Pointer } from '../artifacts/pointer.js';
import { ArtifactError, AwsError, describeError } from '../errors.js';
import { PromoteConflictError } from './errors.js';
import { formatPointer } from './pointer-json.js';
import { describeS3Failure, isConditionalConflict, isNotFound, isPreconditionFailed } from './s3-failure.js';

export interface PointerState {
  bucket: string;
  key: string;
  url: string;
  /** The ETag read, or undefined when there was no pointer yet. */
  etag: string | undefined;
  /** The pointer read, when there was one and it parsed. */
  pointer: Pointer | undefined;
  /** Why the pointer that exists could not be parsed. */
  problem: string | undefined;
}

/** Bodies past this are not pointers; the agent refuses them too. */
const maxPointerBytes = 64 * 1024;

async function readBody(response: GetObjectCommandOutput, url: string): Promise<string> {
  if (!(response.Body instanceof Readable)) throw new AwsError(`cannot read ${url}: the S3 client returned no readable body`);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.Body) {
    const buffer = chunk as Buffer;
    length += buffer.length;
    if (length > maxPointerBytes) {
      response.Body.destroy();
      throw new ArtifactError(`pointer ${url} is over ${maxPointerBytes} bytes, too large to be a pointer`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readPointerState(s3: S3Client, bucket: string, key: string): Promise<PointerState> {
  const url = s3Url(bucket, key);
  let response: GetObjectCommandOutput;
  try {
    response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    if (isNotFound(error)) return { bucket, key, url, etag: undefined, pointer: undefined, problem: undefined };
    throw describeS3Failure(error, `reading ${url}`, bucket, 's3:GetObject and s3:ListBucket');
  }
  try {
    const text = await readBody(response, url);
    return { bucket, key, url, etag: response.ETag, pointer: parsePointer(text, url), problem: undefined };
  } catch (error) {
    if (error instanceof AwsError) throw error;
    if (!(error instanceof ArtifactError)) throw new AwsError(`cannot read ${url}: ${describeError(error)}`, { cause: error });
    return { bucket, key, url, etag: response.ETag, pointer: undefined, problem: error.message };
  }
}

function conflict(state: PointerState, error: unknown): PromoteConflictError {
  const was = state.etag === undefined ? 'did not exist when it was read' : `had ETag ${state.etag} when it was read`;
  return new PromoteConflictError(
    `pointer ${state.url} changed since it was read (it ${was}): another promotion won the race and was kept; ` +
      'look at it with "pulldeploy releases" and promote again if this version should still win',
    { cause: error },
  );
}

/**
 * Writes `pointer` with If-Match on the ETag read (or If-None-Match: * when there was none), so a write that
 * raced another fails with PromoteConflictError instead of silently replacing it.
 */
export async function writePointer(s3: S3Client, state: PointerState, pointer: Pointer): Promise<void> {
  const condition = state.etag !== undefined ? { IfMatch: state.etag } : { IfNoneMatch: '*' };
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: state.bucket,
        Key: state.key,
        Body: formatPointer(pointer),
        ContentType: 'application/json',
        ...condition,
      }),
    );
  } catch (error) {
    // 404 under If-Match: the pointer was deleted since it was read; 409: another conditional write is in flight.
    if (isPreconditionFailed(error) || isConditionalConflict(error) || (state.etag !== undefined && isNotFound(error))) throw conflict(state, error);
    throw describeS3Failure(error, `writing ${state.url}`, state.bucket, 's3:PutObject');
  }
}
