// publish against moto: what is stored, refusing an existing version (the conditional create itself), the same bytes again, --force, multipart.
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { releaseKey } from '../../../src/artifacts/pointer.js';
import { ArtifactError, UsageError } from '../../../src/errors.js';
import { ReleaseExistsError } from '../../../src/publish/errors.js';
import { digestFile } from '../../../src/publish/file-digest.js';
import { publishRelease, type PublishRequest } from '../../../src/publish/publish.js';
import { uploadRelease } from '../../../src/publish/upload.js';
import { failure } from '../../helpers/failure.js';
import { createBucket, publisherOn, type TestPublisher } from './moto-publisher.js';
import { startS3Proxy } from './s3-proxy.js';

const mebibyte = 1024 * 1024;
let dir: string;
let bucket: string;
let publisher: TestPublisher;

const noProgress = () => ({ advance: () => undefined, finish: () => undefined });

function request(version: string, file: string, extra: Partial<PublishRequest> = {}): PublishRequest {
  return { service: 'myapp', version, file, force: false, dryRun: false, partSize: 16 * mebibyte, concurrency: 4, progress: noProgress, ...extra };
}

async function gzFile(name: string, content: Buffer | string): Promise<{ file: string; bytes: Buffer; sha256: string }> {
  const bytes = gzipSync(content);
  const file = join(dir, name);
  await writeFile(file, bytes);
  return { file, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function stored(version: string): Promise<Buffer> {
  const answer = await publisher.s3.send(new GetObjectCommand({ Bucket: bucket, Key: releaseKey('deploy', 'myapp', version) }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-publish-'));
  bucket = await createBucket();
  publisher = publisherOn(bucket);
});

afterAll(async () => {
  publisher.s3.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('publishRelease', () => {
  it('stores the bytes with S3 SHA-256 checksum and x-amz-meta-sha256, and answers the pointer', async () => {
    const { file, bytes, sha256 } = await gzFile('v1.tar.gz', 'release one');
    const result = await publishRelease(publisher, request('v1', file));
    expect(result).toEqual({ url: `s3://${bucket}/deploy/myapp/releases/v1.tar.gz`, outcome: 'created', pointer: { version: 'v1', sha256, size: bytes.length } });
    expect(await stored('v1')).toEqual(bytes);
    const head = await publisher.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: releaseKey('deploy', 'myapp', 'v1'), ChecksumMode: 'ENABLED' }));
    expect(head.Metadata).toEqual({ sha256 });
    expect(Buffer.from(head.ChecksumSHA256 ?? '', 'base64').toString('hex')).toBe(sha256);
  });

  it('refuses to overwrite an existing version with other bytes (exit 7), leaving it as it was', async () => {
    const first = await gzFile('v2-a.tar.gz', 'release two');
    const second = await gzFile('v2-b.tar.gz', 'another build of release two');
    await publishRelease(publisher, request('v2', first.file));
    const error = await failure(publishRelease(publisher, request('v2', second.file)));
    expect(error).toBeInstanceOf(ReleaseExistsError);
    expect((error as ReleaseExistsError).exitCode).toBe(7);
    expect(error.message).toBe(
      `release s3://${bucket}/deploy/myapp/releases/v2.tar.gz already exists with other bytes (sha256 ${first.sha256}, yours ${second.sha256}): ` +
        'releases are immutable, so publish this build under a new version (or pass --force to replace it, which instances that already fetched it never notice)',
    );
    expect(await stored('v2')).toEqual(first.bytes);
  });

  it('treats the same bytes published again as done, uploading nothing', async () => {
    const { file, sha256 } = await gzFile('v3.tar.gz', 'release three');
    await publishRelease(publisher, request('v3', file));
    const again = await publishRelease(publisher, request('v3', file));
    expect(again.outcome).toBe('unchanged');
    expect(again.pointer.sha256).toBe(sha256);
    expect(publisher.logger.lines.at(-1)?.message).toContain('already holds these exact bytes');
  });

  it('recognises the same bytes uploaded by plain PutObject, without any recorded digest, by hashing them', async () => {
    const { file, bytes } = await gzFile('v4.tar.gz', 'release four');
    await publisher.s3.send(new PutObjectCommand({ Bucket: bucket, Key: releaseKey('deploy', 'myapp', 'v4'), Body: bytes }));
    expect((await publishRelease(publisher, request('v4', file))).outcome).toBe('unchanged');
  });

  it('replaces a version with --force, warning about it', async () => {
    const first = await gzFile('v5-a.tar.gz', 'release five');
    const second = await gzFile('v5-b.tar.gz', 'release five, rebuilt');
    await publishRelease(publisher, request('v5', first.file));
    const result = await publishRelease(publisher, request('v5', second.file, { force: true }));
    expect(result.outcome).toBe('overwritten');
    expect(await stored('v5')).toEqual(second.bytes);
    expect(publisher.logger.lines.some((line) => line.level === 'warn' && line.message.startsWith('--force: replacing'))).toBe(true);
  });

  it('uploads nothing in a dry run', async () => {
    const { file } = await gzFile('v6.tar.gz', 'release six');
    expect((await publishRelease(publisher, request('v6', file, { dryRun: true }))).outcome).toBe('dry-run');
    const error = await failure(stored('v6'));
    expect(error.name).toBe('NoSuchKey');
  });

  it('uploads a large file in parts, each checksummed, with the whole sha256 in metadata and progress reported', async () => {
    const content = randomBytes(12 * mebibyte); // random bytes do not compress, so the .tar.gz stays over two parts
    const { file, bytes, sha256 } = await gzFile('big.tar.gz', content);
    let progressed = 0;
    let finished = false;
    const result = await publishRelease(
      publisher,
      request('big', file, { partSize: 5 * mebibyte, progress: () => ({ advance: (n) => (progressed += n), finish: () => (finished = true) }) }),
    );
    expect(result.outcome).toBe('created');
    expect(progressed).toBe(bytes.length);
    expect(finished).toBe(true);
    expect(createHash('sha256').update(await stored('big')).digest('hex')).toBe(sha256);
    const head = await publisher.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: releaseKey('deploy', 'myapp', 'big') }));
    expect(head.ETag).toMatch(/-3"$/);
    expect(head.Metadata).toEqual({ sha256 });
  });

  it('refuses a file that is not gzip, or not there', async () => {
    const plain = join(dir, 'plain.tar');
    await writeFile(plain, 'not gzip');
    const notGzip = await failure(publishRelease(publisher, request('v7', plain)));
    expect(notGzip).toBeInstanceOf(UsageError);
    expect(notGzip.message).toBe(`${plain} is not gzip data: a release is a .tar.gz; make one with "pulldeploy pack DIR -o FILE.tar.gz"`);
    const missing = await failure(publishRelease(publisher, request('v7', join(dir, 'missing.tar.gz'))));
    expect(missing.message).toMatch(/^cannot read .*missing\.tar\.gz: .*ENOENT/);
    expect(await failure(stored('v7'))).toHaveProperty('name', 'NoSuchKey');
  });
});

describe('publishRelease racing another publish of the same version', () => {
  it('is refused by the conditional create when the version appears after the check', async () => {
    const winner = await gzFile('late-a.tar.gz', 'the other publish');
    const mine = await gzFile('late-b.tar.gz', 'this publish');
    await publishRelease(publisher, request('late', winner.file));
    // The first HEAD is answered "not found", as if the other publish had not finished yet when this one checked.
    let heads = 0;
    const proxy = await startS3Proxy(inject('motoUrl'), (incoming) =>
      incoming.method === 'HEAD' && heads++ === 0 ? { answer: { status: 404, body: '' } } : { forward: incoming.body },
    );
    try {
      const error = await failure(publishRelease(publisherOn(bucket, proxy.url), request('late', mine.file)));
      expect(error).toBeInstanceOf(ReleaseExistsError);
      expect(error.message).toContain(`already exists with other bytes (sha256 ${winner.sha256}, yours ${mine.sha256})`);
      expect(proxy.requests.filter((incoming) => incoming.method === 'PUT' && incoming.headers['if-none-match'] === '*')).toHaveLength(1);
      expect(await stored('late')).toEqual(winner.bytes);
    } finally {
      await proxy.stop();
    }
  });
});

describe('uploadRelease: the conditional create is what refuses an existing key', () => {
  it.each([
    ['one PUT', 16 * mebibyte, 1],
    ['a multipart upload', 5 * mebibyte, 11],
  ])('answers "exists" for %s over an existing key, which keeps its bytes, and leaves no upload open', async (_name, partSize, mebibytes) => {
    const version = `race-${partSize}`;
    const key = releaseKey('deploy', 'myapp', version);
    await publisher.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'the winner' }));
    const { file } = await gzFile(`${version}.tar.gz`, randomBytes(mebibytes * mebibyte));
    const outcome = await uploadRelease({
      s3: publisher.s3,
      bucket,
      key,
      file,
      digest: await digestFile(file),
      partSize,
      concurrency: 2,
      overwrite: false,
      progress: noProgress(),
      logger: publisher.logger,
    });
    expect(outcome).toBe('exists');
    expect((await stored(version)).toString()).toBe('the winner');
    const uploads = await publisher.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect((uploads.Uploads ?? []).filter((upload) => upload.Key === key)).toEqual([]);
  });
});

describe('uploadRelease: a file that changed since it was hashed', () => {
  it.each([
    ['one PUT', 16 * mebibyte, 1],
    ['a multipart upload', 5 * mebibyte, 11],
  ])('is refused for %s, storing nothing', async (_name, partSize, mebibytes) => {
    const version = `changed-${partSize}`;
    const key = releaseKey('deploy', 'myapp', version);
    const { file } = await gzFile(`${version}.tar.gz`, randomBytes(mebibytes * mebibyte));
    // The digest of other bytes of the same size stands for the file as it was when publish hashed it.
    const digest = { ...(await digestFile(file)), sha256: 'ab'.repeat(32) };
    const error = await failure(
      uploadRelease({ s3: publisher.s3, bucket, key, file, digest, partSize, concurrency: 2, overwrite: false, progress: noProgress(), logger: publisher.logger }),
    );
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(`${file} changed while it was being uploaded: its sha256 is no longer the one computed first; publish it again once it is stable`);
    expect(await failure(stored(version))).toHaveProperty('name', 'NoSuchKey');
  });
});
