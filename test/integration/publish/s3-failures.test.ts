// What the publisher says when S3 or STS fail: a missing bucket, access denied, server errors, an abort that fails, no caller identity.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { AwsError } from '../../../src/errors.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { callerArn } from '../../../src/publish/caller-identity.js';
import { readPointerState } from '../../../src/publish/pointer-store.js';
import { publishRelease } from '../../../src/publish/publish.js';
import { listReleases } from '../../../src/publish/releases.js';
import { freePort } from '../../helpers/ports.js';
import { failure } from '../../helpers/failure.js';
import { createBucket, publisherOn } from './moto-publisher.js';
import { corruptUploads, startS3Proxy, type ProxyDecision, type ProxiedRequest, type S3Proxy } from './s3-proxy.js';

const mebibyte = 1024 * 1024;
let dir: string;
let bucket: string;
let denying: S3Proxy;
let failing: S3Proxy;

const s3Error = (status: number, code: string, message: string): ProxyDecision => ({
  answer: { status, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>` },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-s3-failures-'));
  bucket = await createBucket();
  denying = await startS3Proxy(inject('motoUrl'), () => s3Error(403, 'AccessDenied', 'Access Denied'));
  failing = await startS3Proxy(inject('motoUrl'), (request: ProxiedRequest) =>
    request.method === 'DELETE' ? s3Error(500, 'InternalError', 'We encountered an internal error.') : corruptUploads(request),
  );
});

afterAll(async () => {
  await denying.stop();
  await failing.stop();
  await rm(dir, { recursive: true, force: true });
});

async function tarball(name: string, size: number): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, gzipSync(randomBytes(size)));
  return file;
}

const publishTo = (context: ReturnType<typeof publisherOn>, file: string, partSize = 16 * mebibyte) =>
  publishRelease(context, {
    service: 'myapp',
    version: '1.0',
    file,
    force: false,
    dryRun: false,
    partSize,
    concurrency: 2,
    progress: () => ({ advance: () => undefined, finish: () => undefined }),
  });

describe('S3 failures', () => {
  it('a bucket that does not exist: exit 6 naming where the bucket is set', async () => {
    const error = await failure(publishTo(publisherOn('no-such-bucket-for-pulldeploy'), await tarball('a.tar.gz', 100)));
    expect(error).toBeInstanceOf(AwsError);
    expect(error.message).toBe(
      'bucket "no-such-bucket-for-pulldeploy" does not exist (uploading s3://no-such-bucket-for-pulldeploy/deploy/myapp/releases/1.0.tar.gz): ' +
        'check --bucket, PULLDEPLOY_BUCKET or "bucket" in the configuration',
    );
  });

  it('access denied: the permission the CI role lacks', async () => {
    const context = publisherOn(bucket, denying.url);
    const error = await failure(readPointerState(context.s3, bucket, 'deploy/myapp/testing/current'));
    expect(error).toBeInstanceOf(AwsError);
    expect(error.message).toBe(
      `access denied reading s3://${bucket}/deploy/myapp/testing/current: the CI role needs s3:GetObject and s3:ListBucket on arn:aws:s3:::${bucket}`,
    );
    const listing = await failure(listReleases(context, 'myapp'));
    expect(listing.message).toBe(`access denied listing s3://${bucket}/deploy/myapp/: the CI role needs s3:ListBucket on arn:aws:s3:::${bucket}`);
  });

  it('a multipart upload that cannot be aborted: a warning naming the upload and the lifecycle rule', async () => {
    const context = publisherOn(bucket, failing.url);
    const error = await failure(publishTo(context, await tarball('parts.tar.gz', 11 * mebibyte), 5 * mebibyte));
    expect(error.message).toContain('the bytes it received do not match the checksum sent with them');
    const warning = context.logger.lines.find((line) => line.level === 'warn');
    expect(warning?.message).toMatch(
      new RegExp(
        `^could not abort the multipart upload \\S+ of s3://${bucket}/deploy/myapp/releases/1\\.0\\.tar\\.gz \\(We encountered an internal error\\.\\): ` +
          'its parts are stored until it is aborted; add an AbortIncompleteMultipartUpload lifecycle rule to the bucket$',
      ),
    );
  });
});

describe('callerArn', () => {
  it('answers the ARN STS gives', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', inject('motoUrl'));
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    expect(await callerArn('us-east-1', createMemoryLogger())).toMatch(/^arn:aws:(sts|iam)::\d{12}:/);
  });

  it('warns and answers nothing when STS cannot be reached', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', `http://127.0.0.1:${await freePort()}`);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    const logger = createMemoryLogger();
    expect(await callerArn('us-east-1', logger)).toBeUndefined();
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]?.message).toMatch(/^cannot tell who is promoting \(sts:GetCallerIdentity failed: .+\): promoted_by is left out; pass --by NAME to set it$/);
  });
});
