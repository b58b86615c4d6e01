// Both S3 stores — the AWS SDK's and the agent's own signed GETs — against moto (pointers, releases, fetch end to end)
// and against a loopback server that fails on purpose: the same answers and the same messages from either.
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchRelease, type FetchReleaseOptions } from '../../../src/artifacts/fetch-release.js';
import { parsePointer, pointerKey, releaseKey } from '../../../src/artifacts/pointer.js';
import { createLightS3Store } from '../../../src/artifacts/light-s3-store.js';
import { createS3Store } from '../../../src/artifacts/s3-store.js';
import type { ArtifactStore } from '../../../src/artifacts/store.js';
import { s3ObjectUrls } from '../../../src/aws/s3-object-url.js';
import { createSignedGet } from '../../../src/aws/signed-get.js';
import { ArtifactError, AwsError } from '../../../src/errors.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { releaseTarGz, sha256 } from '../../helpers/archives.js';
import { failure } from '../../helpers/failure.js';
import { motoS3Client, stubAwsEnvironment } from '../../helpers/moto-clients.js';
import { answerS3Error, startScriptedS3Server, type ScriptedS3Server } from '../../helpers/scripted-s3-server.js';

const bucket = `pulldeploy-artifacts-${randomBytes(4).toString('hex')}`;
const release = releaseTarGz({ 'hooks/post-release/50-restart': '#!/bin/sh\nexit 0\n', 'salt/config/states/top.sls': 'base: {}\n' });
const pointerText = JSON.stringify({ version: '1.0', sha256: sha256(release), size: release.length });

/** Counts release downloads while passing everything through to the real store. */
function countingStore(store: ArtifactStore): ArtifactStore & { opens: number } {
  const counting = {
    bucket: store.bucket,
    opens: 0,
    url: (key: string) => store.url(key),
    readPointer: (key: string, etag?: string) => store.readPointer(key, etag),
    openRelease: (key: string, range?: { start: number; etag: string }) => {
      counting.opens += 1;
      return store.openRelease(key, range);
    },
  };
  return counting;
}

/** The stores under test, each for a bucket on the endpoint stubAwsEnvironment set. */
const stores: Record<string, (bucket: string) => ArtifactStore> = {
  'the AWS SDK': (name) => createS3Store({ bucket: name, region: 'us-east-1' }),
  'signed GETs': (name) => {
    const objectUrl = s3ObjectUrls(name, 'us-east-1', process.env);
    if (objectUrl === undefined) throw new Error('no address for the stubbed endpoint');
    const credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '' };
    const get = createSignedGet({ region: 'us-east-1', service: 's3', credentials: async () => credentials, userAgent: 'pulldeploy/test' });
    return createLightS3Store({ bucket: name, objectUrl, get });
  },
};

let putEtag: string | undefined;

beforeAll(async () => {
  const admin = motoS3Client();
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: releaseKey('deploy', 'myapp', '1.0'), Body: release }));
  const put = await admin.send(new PutObjectCommand({ Bucket: bucket, Key: pointerKey('deploy', 'myapp', 'testing'), Body: pointerText }));
  putEtag = put.ETag;
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: releaseKey('deploy', 'myapp', 'tampered'), Body: release }));
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: pointerKey('deploy', 'huge', 'testing'), Body: 'x'.repeat(70_000) }));
});

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'pulldeploy-s3-store-'));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe.each(Object.entries(stores))('S3 store through %s against moto', (_label, makeStore) => {
  beforeEach(() => {
    stubAwsEnvironment();
  });

  const store = (name = bucket) => makeStore(name);

  function fetchOptions(artifacts: ArtifactStore, overrides: Partial<FetchReleaseOptions> = {}): FetchReleaseOptions {
    return {
      store: artifacts,
      key: releaseKey('deploy', 'myapp', '1.0'),
      version: '1.0',
      sha256: sha256(release),
      releasesDir: join(workDir, 'releases'),
      limits: { maxBytes: 1_000_000, maxEntries: 100 },
      attempts: 2,
      logger: createMemoryLogger(),
      retryDelayMs: 1,
      ...overrides,
    };
  }

  it('names objects by their s3:// URL', () => {
    expect(store().url('deploy/myapp/testing/current')).toBe(`s3://${bucket}/deploy/myapp/testing/current`);
    expect(store().bucket).toBe(bucket);
  });

  it('reads a pointer with its ETag', async () => {
    const read = await store().readPointer(pointerKey('deploy', 'myapp', 'testing'));
    expect(read).toEqual({ status: 'found', text: pointerText, etag: putEtag });
  });

  it('answers "unchanged" to a conditional read with the current ETag', async () => {
    expect(await store().readPointer(pointerKey('deploy', 'myapp', 'testing'), putEtag)).toEqual({ status: 'unchanged' });
  });

  it('reads the pointer again when the stored ETag is stale', async () => {
    const read = await store().readPointer(pointerKey('deploy', 'myapp', 'testing'), '"0123456789abcdef0123456789abcdef"');
    expect(read).toMatchObject({ status: 'found', text: pointerText });
  });

  it('reports a missing pointer as an artifact error', async () => {
    const error = await failure(store().readPointer(pointerKey('deploy', 'myapp', 'staging')));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(`pointer s3://${bucket}/deploy/myapp/staging/current not found: has the release been promoted?`);
  });

  it('refuses a pointer too large to be one', async () => {
    const error = await failure(store().readPointer(pointerKey('deploy', 'huge', 'testing')));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(
      `pointer s3://${bucket}/deploy/huge/testing/current is over 65536 bytes, too large to be a pointer: republish it with "pulldeploy promote"`,
    );
  });

  it('reports a missing release as an artifact error', async () => {
    const error = await failure(store().openRelease(releaseKey('deploy', 'myapp', '9.9')));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(`release s3://${bucket}/deploy/myapp/releases/9.9.tar.gz not found: was it published?`);
  });

  it('reports a missing bucket as an AWS error naming it', async () => {
    const missing = `${bucket}-missing`;
    const error = await failure(store(missing).readPointer('deploy/myapp/testing/current'));
    expect(error).toBeInstanceOf(AwsError);
    expect(error.message).toBe(
      `bucket "${missing}" does not exist (reading s3://${missing}/deploy/myapp/testing/current): check the bucket name in the configuration`,
    );
  });

  it('opens a release from a byte offset while its ETag still matches', async () => {
    const key = releaseKey('deploy', 'myapp', '1.0');
    const whole = await store().openRelease(key);
    whole.body.destroy();
    expect(whole.size).toBe(release.length);
    const tail = await store().openRelease(key, { start: 10, etag: whole.etag! });
    const chunks: Buffer[] = [];
    for await (const chunk of tail.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(release.subarray(10));
    expect(tail.size).toBe(release.length - 10);
  });

  it('refuses to resume a release whose ETag changed', async () => {
    const key = releaseKey('deploy', 'myapp', '1.0');
    const error = await failure(store().openRelease(key, { start: 10, etag: '"0123456789abcdef0123456789abcdef"' }));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(
      `release s3://${bucket}/${key} changed while it was being read (its ETag no longer matches): releases must never be overwritten`,
    );
  });

  it('fetches a release end to end from the pointer, then reuses it without a GET', async () => {
    const artifacts = countingStore(store());
    const read = await artifacts.readPointer(pointerKey('deploy', 'myapp', 'testing'));
    if (read.status !== 'found') throw new Error('pointer not found');
    const pointer = parsePointer(read.text, artifacts.url(pointerKey('deploy', 'myapp', 'testing')));

    const first = await fetchRelease(fetchOptions(artifacts, { version: pointer.version, sha256: pointer.sha256 }));
    expect(first).toEqual({ dir: join(workDir, 'releases/1.0'), reused: false, bytes: release.length });
    expect(await readFile(join(first.dir, 'hooks/post-release/50-restart'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');

    const second = await fetchRelease(fetchOptions(artifacts, { version: pointer.version, sha256: pointer.sha256 }));
    expect(second).toEqual({ dir: first.dir, reused: true, bytes: release.length });
    expect(artifacts.opens).toBe(1);
  });

  it('refuses a release whose digest differs from the pointer and removes what it extracted', async () => {
    const key = releaseKey('deploy', 'myapp', 'tampered');
    const expected = 'ef'.repeat(32);
    const error = await failure(fetchRelease(fetchOptions(store(), { key, version: 'tampered', sha256: expected })));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(
      `release s3://${bucket}/${key} does not match its pointer: expected sha256 ${expected}, got ${sha256(release)} ` +
        `(${release.length} bytes); republish the release or correct the pointer`,
    );
    expect(await readdir(join(workDir, 'releases'))).toEqual([]);
  });
});

describe.each(Object.entries(stores))('S3 store through %s against a failing server', (_label, makeStore) => {
  let s3: ScriptedS3Server;

  beforeEach(async () => {
    s3 = await startScriptedS3Server();
    stubAwsEnvironment(s3.url);
  });

  afterEach(() => s3.close());

  const store = () => makeStore('fleet');

  it('explains access denied with the IAM permissions needed', async () => {
    s3.respond = (_request, response) => answerS3Error(response, 403, 'AccessDenied', 'Access Denied');
    const error = await failure(store().readPointer('deploy/myapp/testing/current'));
    expect(error).toBeInstanceOf(AwsError);
    expect(error.message).toBe(
      'access denied reading s3://fleet/deploy/myapp/testing/current: the instance\'s IAM role needs s3:GetObject on ' +
        'arn:aws:s3:::fleet/deploy/myapp/testing/current and s3:ListBucket on arn:aws:s3:::fleet ' +
        '(without ListBucket, S3 also answers "access denied" for a missing key)',
    );
  });

  it('retries server errors with the SDK settings, then reports the service message', async () => {
    s3.respond = (_request, response) => answerS3Error(response, 500, 'InternalError', 'We encountered an internal error. Please try again.');
    const error = await failure(store().openRelease('deploy/myapp/releases/1.0.tar.gz'));
    expect(error).toBeInstanceOf(AwsError);
    expect(error.message).toBe(
      'cannot read s3://fleet/deploy/myapp/releases/1.0.tar.gz: InternalError: We encountered an internal error. Please try again.',
    );
    expect(s3.seen.length).toBe(5);
  });

  const fetchThrough = (logger: ReturnType<typeof createMemoryLogger>) =>
    fetchRelease({
      store: store(),
      key: 'deploy/myapp/releases/1.0.tar.gz',
      version: '1.0',
      sha256: sha256(release),
      releasesDir: join(workDir, 'releases'),
      limits: { maxBytes: 1_000_000, maxEntries: 100 },
      attempts: 3,
      logger,
      retryDelayMs: 1,
    });

  it('resumes a release whose connection drops mid-body with a Range request conditional on its ETag', async () => {
    const seen: { range: string | undefined; ifMatch: string | undefined }[] = [];
    s3.respond = (request, response, attempt) => {
      seen.push({ range: request.headers.range, ifMatch: request.headers['if-match'] });
      if (attempt === 1) {
        response.writeHead(200, { 'content-length': String(release.length), etag: '"abc"' });
        response.write(release.subarray(0, 100), () => response.socket?.destroy());
      } else {
        const rest = release.subarray(100);
        response.writeHead(206, {
          'content-length': String(rest.length),
          'content-range': `bytes 100-${release.length - 1}/${release.length}`,
          etag: '"abc"',
        });
        response.end(rest);
      }
    };
    const logger = createMemoryLogger();
    const result = await fetchThrough(logger);

    expect(result.reused).toBe(false);
    expect(s3.seen.length).toBe(2);
    expect(seen).toEqual([
      { range: undefined, ifMatch: undefined },
      { range: 'bytes=100-', ifMatch: '"abc"' },
    ]);
    expect(await readFile(join(result.dir, 'salt/config/states/top.sls'), 'utf8')).toBe('base: {}\n');
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      `download of s3://fleet/deploy/myapp/releases/1.0.tar.gz broke off after 100 of ${release.length} bytes (aborted, ECONNRESET); ` +
        'resuming from there in 1 ms (attempt 2 of 3)',
    ]);
  });

  it('downloads the release again from the start when a server ignores the Range', async () => {
    s3.respond = (_request, response, attempt) => {
      response.writeHead(200, { 'content-length': String(release.length), etag: '"abc"' });
      if (attempt === 1) response.write(release.subarray(0, 100), () => response.socket?.destroy());
      else response.end(release);
    };
    const logger = createMemoryLogger();
    const result = await fetchThrough(logger);

    expect(s3.seen.length).toBe(3);
    expect(await readFile(join(result.dir, 'salt/config/states/top.sls'), 'utf8')).toBe('base: {}\n');
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)[1]).toBe(
      `s3://fleet/deploy/myapp/releases/1.0.tar.gz answered a request for bytes 100- with ${release.length} bytes instead of ${release.length - 100}; ` +
        'downloading it again from the start in 1 ms (attempt 3 of 3)',
    );
  });
});
