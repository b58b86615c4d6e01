// Pointer and release reads with a signed GET of their own: how they are signed, retried and given up, against a
// loopback server that fails on purpose.
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLightS3Store } from '../../../src/artifacts/light-s3-store.js';
import { ReleaseChangedError } from '../../../src/artifacts/store.js';
import { s3ObjectUrls } from '../../../src/aws/s3-object-url.js';
import { createSignedGet, type SignedGetOptions } from '../../../src/aws/signed-get.js';
import { AwsError, ExitCode, isPulldeployError } from '../../../src/errors.js';
import { failure } from '../../helpers/failure.js';
import { motoS3Client } from '../../helpers/moto-clients.js';
import { answerS3Error, startScriptedS3Server, type ScriptedS3Server } from '../../helpers/scripted-s3-server.js';

const bucket = `pulldeploy-light-${randomBytes(4).toString('hex')}`;
const pointerText = JSON.stringify({ version: '1.0', sha256: 'ab'.repeat(32) });
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function reader(endpoint: string, name = bucket, options: Partial<SignedGetOptions> = {}) {
  const objectUrl = s3ObjectUrls(name, 'us-east-1', { AWS_ENDPOINT_URL: endpoint });
  if (objectUrl === undefined) throw new Error('no address for a custom endpoint');
  const get = createSignedGet({
    region: 'us-east-1',
    service: 's3',
    credentials: async () => credentials,
    retryBaseDelayMs: 1,
    userAgent: 'pulldeploy/0.1.0 app/light-test',
    ...options,
  });
  const store = createLightS3Store({ bucket: name, objectUrl, get });
  return Object.assign((key: string, etag?: string) => store.readPointer(key, etag), { store });
}

function exitCodeOf(error: Error): number | undefined {
  return isPulldeployError(error) ? error.exitCode : undefined;
}

describe('light S3 store against moto', () => {
  const spacedKey = 'deploy/my app+1/testing/current';

  beforeAll(async () => {
    const admin = motoS3Client();
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: spacedKey, Body: pointerText }));
    admin.destroy();
  });

  // The rest of its answers against moto are the SDK store's, tested side by side in s3-store.test.ts.
  it('escapes each segment of a key', async () => {
    expect(await reader(inject('motoUrl'))(spacedKey)).toMatchObject({ status: 'found', text: pointerText });
  });
});

describe('light S3 store against a failing server', () => {
  let s3: ScriptedS3Server;

  beforeEach(async () => {
    s3 = await startScriptedS3Server();
  });

  afterEach(() => s3.close());

  const key = 'deploy/myapp/testing/current';

  it('signs a path-style GET with SigV4 and asks for the body only when the ETag moved', async () => {
    s3.respond = (_request, response) => response.writeHead(304).end();
    expect(await reader(s3.url, 'fleet')(key, '"abc"')).toEqual({ status: 'unchanged' });
    const [request] = s3.seen;
    expect(request?.method).toBe('GET');
    expect(request?.url).toBe('/fleet/deploy/myapp/testing/current');
    expect(request?.headers['if-none-match']).toBe('"abc"');
    expect(request?.headers['x-amz-content-sha256']).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(request?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(request?.headers['user-agent']).toBe('pulldeploy/0.1.0 app/light-test');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;if-none-match;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });

  it('explains access denied with the IAM permissions needed (exit 6)', async () => {
    s3.respond = (_request, response) => answerS3Error(response, 403, 'AccessDenied', 'Access Denied');
    const error = await failure(reader(s3.url, 'fleet')(key));
    expect(error).toBeInstanceOf(AwsError);
    expect(exitCodeOf(error)).toBe(ExitCode.aws);
    expect(error.message).toBe(
      'access denied reading s3://fleet/deploy/myapp/testing/current: the instance\'s IAM role needs s3:GetObject on ' +
        'arn:aws:s3:::fleet/deploy/myapp/testing/current and s3:ListBucket on arn:aws:s3:::fleet ' +
        '(without ListBucket, S3 also answers "access denied" for a missing key)',
    );
    expect(s3.seen).toHaveLength(1);
  });

  it('tells a clock that is off, and refused keys, apart from a missing IAM permission (exit 6)', async () => {
    s3.respond = (_request, response) =>
      answerS3Error(response, 403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    const skewed = await failure(reader(s3.url, 'fleet')(key));
    expect(exitCodeOf(skewed)).toBe(ExitCode.aws);
    expect(skewed.message).toMatch(
      /^S3 refused the request to read s3:\/\/fleet\/deploy\/myapp\/testing\/current: this machine's clock is more than 15 minutes off \(.*too large.*\); check its time synchronisation/,
    );

    s3.respond = (_request, response) => answerS3Error(response, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match.');
    const refused = await failure(reader(s3.url, 'fleet')(key));
    expect(exitCodeOf(refused)).toBe(ExitCode.aws);
    expect(refused.message).toMatch(
      /^S3 refused the credentials reading s3:\/\/fleet\/deploy\/myapp\/testing\/current \(.*does not match.*\): check the AWS keys or instance profile/,
    );
  });

  it('retries server errors and throttling, then reads the pointer', async () => {
    s3.respond = (_request, response, attempt) => {
      if (attempt === 1) answerS3Error(response, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      else if (attempt === 2) answerS3Error(response, 429, 'SlowDown', 'Please reduce your request rate.');
      else response.writeHead(200, { etag: '"def"' }).end(pointerText);
    };
    expect(await reader(s3.url, 'fleet')(key)).toEqual({ status: 'found', text: pointerText, etag: '"def"' });
    expect(s3.seen).toHaveLength(3);
  });

  it('gives up after five attempts and reports the service message (exit 6)', async () => {
    s3.respond = (_request, response) => answerS3Error(response, 500, 'InternalError', 'We encountered an internal error. Please try again.');
    const error = await failure(reader(s3.url, 'fleet')(key));
    expect(error).toBeInstanceOf(AwsError);
    expect(exitCodeOf(error)).toBe(ExitCode.aws);
    expect(error.message).toBe('cannot read s3://fleet/deploy/myapp/testing/current: InternalError: We encountered an internal error. Please try again.');
    expect(s3.seen).toHaveLength(5);
  });

  it('retries a dropped connection, then reports it (exit 6)', async () => {
    s3.respond = (request) => request.socket.destroy();
    const error = await failure(reader(s3.url, 'fleet', { maxAttempts: 3 })(key));
    expect(error).toBeInstanceOf(AwsError);
    expect(error.message).toBe('cannot read s3://fleet/deploy/myapp/testing/current: socket hang up');
    expect(s3.seen).toHaveLength(3);
  });

  it('gives up on a server that accepts the request but never answers', async () => {
    s3.respond = () => undefined;
    const error = await failure(reader(s3.url, 'fleet', { maxAttempts: 2, readTimeoutMs: 100 })(key));
    expect(error).toBeInstanceOf(AwsError);
    expect(error.message).toBe(`cannot read s3://fleet/deploy/myapp/testing/current: no data from ${new URL(s3.url).host} for 100 ms`);
    expect(s3.seen).toHaveLength(2);
  });

  it('names the status when an error carries no S3 error document', async () => {
    s3.respond = (_request, response) => response.writeHead(400).end();
    const error = await failure(reader(s3.url, 'fleet')(key));
    expect(error.message).toBe('cannot read s3://fleet/deploy/myapp/testing/current: HTTP 400');
  });

  const releaseKey = 'deploy/myapp/releases/1.0.tar.gz';

  it('opens a release from a byte on, signing the Range and the If-Match of the ETag it was first read with', async () => {
    s3.respond = (_request, response) => response.writeHead(206, { 'content-length': '90', etag: '"abc"' }).end(Buffer.alloc(90));
    const opened = await reader(s3.url, 'fleet').store.openRelease(releaseKey, { start: 10, etag: '"abc"' });
    let received = 0;
    for await (const chunk of opened.body) received += (chunk as Buffer).length;
    expect({ size: opened.size, etag: opened.etag, received }).toEqual({ size: 90, etag: '"abc"', received: 90 });
    const [request] = s3.seen;
    expect(request?.url).toBe('/fleet/deploy/myapp/releases/1.0.tar.gz');
    expect(request?.headers.range).toBe('bytes=10-');
    expect(request?.headers['if-match']).toBe('"abc"');
    expect(request?.headers.authorization).toMatch(/SignedHeaders=host;if-match;range;x-amz-content-sha256;x-amz-date,/);
  });

  it('reports a release that changed since it was first read as changed, not as a network failure (exit 4)', async () => {
    s3.respond = (_request, response) => answerS3Error(response, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    const error = await failure(reader(s3.url, 'fleet').store.openRelease(releaseKey, { start: 10, etag: '"abc"' }));
    expect(error).toBeInstanceOf(ReleaseChangedError);
    expect(exitCodeOf(error)).toBe(ExitCode.artifact);
    expect(error.message).toBe(
      'release s3://fleet/deploy/myapp/releases/1.0.tar.gz changed while it was being read (its ETag no longer matches): releases must never be overwritten',
    );
    expect(s3.seen).toHaveLength(1);
  });

  it('refuses a partial answer to a request for the whole release', async () => {
    s3.respond = (_request, response) => response.writeHead(206, { 'content-length': '5' }).end('12345');
    const error = await failure(reader(s3.url, 'fleet').store.openRelease(releaseKey));
    expect(exitCodeOf(error)).toBe(ExitCode.aws);
    expect(error.message).toBe('cannot read s3://fleet/deploy/myapp/releases/1.0.tar.gz: HTTP 206');
  });

  it('leaves the size unknown when the answer does not give it', async () => {
    s3.respond = (_request, response) => response.writeHead(200, { etag: '"abc"' }).end('12345');
    const opened = await reader(s3.url, 'fleet').store.openRelease(releaseKey);
    opened.body.resume();
    expect(opened.size).toBeUndefined();
  });
});
