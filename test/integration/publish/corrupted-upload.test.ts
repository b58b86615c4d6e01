// Bytes corrupted on the way to S3 are refused by the server's checksum check, and nothing is stored.
//
// moto stores whatever arrives (it checks neither x-amz-checksum-sha256 nor Content-MD5), so a proxy in front of it
// flips one byte of each upload and then does S3's part: it compares the checksums sent with the bytes received.
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { releaseKey } from '../../../src/artifacts/pointer.js';
import { ArtifactError } from '../../../src/errors.js';
import { publishRelease } from '../../../src/publish/publish.js';
import { failure } from '../../helpers/failure.js';
import { createBucket, publisherOn, s3ClientFor } from './moto-publisher.js';
import { checkLikeS3, corruptUploads, startS3Proxy, type S3Proxy } from './s3-proxy.js';

const mebibyte = 1024 * 1024;
let dir: string;
let bucket: string;
let corrupting: S3Proxy;
let checking: S3Proxy;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-corrupt-'));
  bucket = await createBucket();
  corrupting = await startS3Proxy(inject('motoUrl'), corruptUploads);
  checking = await startS3Proxy(inject('motoUrl'), checkLikeS3);
});

afterAll(async () => {
  await corrupting.stop();
  await checking.stop();
  await rm(dir, { recursive: true, force: true });
});

async function release(name: string, size: number): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, gzipSync(randomBytes(size)));
  return file;
}

const publish = (endpoint: string, version: string, file: string, partSize = 16 * mebibyte) =>
  publishRelease(publisherOn(bucket, endpoint), {
    service: 'myapp',
    version,
    file,
    force: false,
    dryRun: false,
    partSize,
    concurrency: 2,
    progress: () => ({ advance: () => undefined, finish: () => undefined }),
  });

async function exists(version: string): Promise<boolean> {
  const s3 = s3ClientFor(inject('motoUrl'));
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: releaseKey('deploy', 'myapp', version) }));
    return true;
  } catch {
    return false;
  } finally {
    s3.destroy();
  }
}

describe('an upload corrupted in transit', () => {
  it('passes the checking proxy untouched, so the checks themselves accept honest uploads', async () => {
    await publish(checking.url, 'honest', await release('honest.tar.gz', 1000));
    await publish(checking.url, 'honest-parts', await release('honest-parts.tar.gz', 11 * mebibyte), 5 * mebibyte);
    expect(await exists('honest')).toBe(true);
    expect(await exists('honest-parts')).toBe(true);
  });

  it('is refused by the checksum of a single PUT: exit 4, nothing stored', async () => {
    const error = await failure(publish(corrupting.url, 'one-put', await release('one-put.tar.gz', 1000)));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toMatch(
      new RegExp(
        `^S3 refused the upload of s3://${bucket}/deploy/myapp/releases/one-put\\.tar\\.gz: the bytes it received do not match the checksum sent with them ` +
          '\\(The SHA256 you specified did not match the calculated checksum\\.\\); they were corrupted on the way, nothing was stored: run publish again$',
      ),
    );
    expect(await exists('one-put')).toBe(false);
    const put = corrupting.requests.find((request) => request.method === 'PUT' && request.path.endsWith('one-put.tar.gz'));
    expect(put?.headers['x-amz-checksum-sha256']).toBeDefined();
    expect(put?.headers['content-md5']).toBeDefined();
  });

  it('is refused by the checksum of a part: the multipart upload is aborted, nothing stored', async () => {
    const error = await failure(publish(corrupting.url, 'parts', await release('parts.tar.gz', 11 * mebibyte), 5 * mebibyte));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toContain('the bytes it received do not match the checksum sent with them');
    expect(await exists('parts')).toBe(false);
    const s3 = s3ClientFor(inject('motoUrl'));
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    s3.destroy();
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(corrupting.requests.some((request) => request.method === 'DELETE' && request.query.includes('uploadId='))).toBe(true);
  });
});
