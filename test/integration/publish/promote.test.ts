// promote against moto: the release is checked, the pointer written conditionally, races lost with a conflict, canaries kept and dropped.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { parsePointer, pointerKey, releaseKey, type Pointer } from '../../../src/artifacts/pointer.js';
import { loadVerifyKeys, verifyReleaseSignature } from '../../../src/artifacts/signature.js';
import { ArtifactError, UsageError } from '../../../src/errors.js';
import { PromoteConflictError } from '../../../src/publish/errors.js';
import { readPointerState, writePointer } from '../../../src/publish/pointer-store.js';
import { promoteRelease, type PromoteRequest, type PromoteTarget } from '../../../src/publish/promote.js';
import { failure } from '../../helpers/failure.js';
import { createBucket, publisherOn, type TestPublisher } from './moto-publisher.js';

let bucket: string;
let publisher: TestPublisher;
const releases: Record<string, { sha256: string; size: number }> = {};
const signer = generateKeyPairSync('ed25519');
const signKeyPem = signer.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Uploads like `aws s3 cp` would, optionally with the metadata publish records. */
async function putRelease(version: string, content: string, metadataSha256?: string): Promise<void> {
  const body = Buffer.from(content);
  await publisher.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: releaseKey('deploy', 'myapp', version),
      Body: body,
      ...(metadataSha256 !== undefined ? { Metadata: { sha256: metadataSha256 } } : {}),
    }),
  );
  releases[version] = { sha256: createHash('sha256').update(body).digest('hex'), size: body.length };
}

function promotion(instance: string, target: PromoteTarget, extra: Partial<PromoteRequest> = {}): PromoteRequest {
  return {
    service: 'myapp',
    instance,
    target,
    signKeyPem: undefined,
    expectedSha256: undefined,
    stream: false,
    dryRun: false,
    promoter: async () => 'ci-bot',
    now: () => new Date('2026-11-22T10:00:00Z'),
    ...extra,
  };
}

async function pointerText(instance: string): Promise<string> {
  const answer = await publisher.s3.send(new GetObjectCommand({ Bucket: bucket, Key: pointerKey('deploy', 'myapp', instance) }));
  return answer.Body!.transformToString();
}

async function storedPointer(instance: string): Promise<Pointer> {
  return parsePointer(await pointerText(instance), instance);
}

const stable = (version: string) => ({ version, sha256: releases[version]!.sha256, size: releases[version]!.size });

beforeAll(async () => {
  bucket = await createBucket();
  publisher = publisherOn(bucket);
  await putRelease('1.0', 'release 1.0');
  await putRelease('1.1', 'release 1.1');
  await putRelease('1.2', 'release 1.2');
});

afterAll(() => publisher.s3.destroy());

describe('promoteRelease', () => {
  it('writes the first pointer, hashing a release that carries no recorded digest, with promoted_at and promoted_by', async () => {
    const result = await promoteRelease(publisher, promotion('first', { kind: 'stable', version: '1.0' }));
    const expected = { ...stable('1.0'), promoted_at: '2026-11-22T10:00:00.000Z', promoted_by: 'ci-bot' };
    expect(result).toEqual({ url: `s3://${bucket}/deploy/myapp/first/current`, pointer: expected, outcome: 'written' });
    expect(await pointerText('first')).toBe(JSON.stringify(expected) + '\n');
    expect(publisher.logger.lines.some((line) => line.message.startsWith(`hashing s3://${bucket}/deploy/myapp/releases/1.0.tar.gz`))).toBe(true);
  });

  it('moves an existing pointer and leaves promoted_by out when no one is known', async () => {
    await promoteRelease(publisher, promotion('moves', { kind: 'stable', version: '1.0' }));
    await promoteRelease(publisher, promotion('moves', { kind: 'stable', version: '1.1' }, { promoter: async () => undefined }));
    expect(await storedPointer('moves')).toEqual({ ...stable('1.1'), promoted_at: '2026-11-22T10:00:00.000Z' });
  });

  it('refuses a release that does not exist (exit 4), writing nothing', async () => {
    const error = await failure(promoteRelease(publisher, promotion('missing', { kind: 'stable', version: '9.9' })));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(
      `release s3://${bucket}/deploy/myapp/releases/9.9.tar.gz not found: publish it first with "pulldeploy publish myapp FILE --version 9.9"`,
    );
    expect(await failure(pointerText('missing'))).toHaveProperty('name', 'NoSuchKey');
  });

  it('refuses a release whose sha256 is not the one CI expects', async () => {
    const error = await failure(promoteRelease(publisher, promotion('expected', { kind: 'stable', version: '1.0' }, { expectedSha256: 'ab'.repeat(32) })));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(
      `release s3://${bucket}/deploy/myapp/releases/1.0.tar.gz has sha256 ${releases['1.0']!.sha256}, not ${'ab'.repeat(32)} as given with --sha256: ` +
        'it is not the build you meant to promote; check the version',
    );
    expect(await failure(pointerText('expected'))).toHaveProperty('name', 'NoSuchKey');
  });

  it('trusts the digest recorded at publish, and with --verify refuses bytes that do not match it', async () => {
    await putRelease('tampered', 'the bytes now stored', 'cd'.repeat(32));
    const trusted = await promoteRelease(publisher, promotion('tampered-trust', { kind: 'stable', version: 'tampered' }, { dryRun: true }));
    expect(trusted.pointer?.sha256).toBe('cd'.repeat(32));
    const error = await failure(promoteRelease(publisher, promotion('tampered', { kind: 'stable', version: 'tampered' }, { stream: true })));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(
      `release s3://${bucket}/deploy/myapp/releases/tampered.tar.gz does not match the sha256 recorded at publish (x-amz-meta-sha256): ` +
        `recorded ${'cd'.repeat(32)}, its bytes hash to ${releases['tampered']!.sha256}; it changed after publishing: publish the build again under a new version`,
    );
    expect(await failure(pointerText('tampered'))).toHaveProperty('name', 'NoSuchKey');
  });

  it('refuses a release whose S3 checksum and recorded metadata disagree', async () => {
    // moto stores a checksum without checking it, which stands in for an object rewritten by another tool.
    await publisher.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: releaseKey('deploy', 'myapp', 'two-digests'),
        Body: 'bytes',
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: Buffer.from('ab'.repeat(32), 'hex').toString('base64'),
        Metadata: { sha256: 'cd'.repeat(32) },
      }),
    );
    const error = await failure(promoteRelease(publisher, promotion('two-digests', { kind: 'stable', version: 'two-digests' })));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(
      `release s3://${bucket}/deploy/myapp/releases/two-digests.tar.gz carries two different sha256: S3's checksum says ${'ab'.repeat(32)}, ` +
        `its x-amz-meta-sha256 says ${'cd'.repeat(32)}; it was rewritten by something other than "pulldeploy publish": publish the build again under a new version`,
    );
  });

  it('writes nothing in a dry run', async () => {
    const result = await promoteRelease(publisher, promotion('dry', { kind: 'stable', version: '1.0' }, { dryRun: true }));
    expect(result.outcome).toBe('dry-run');
    expect(result.pointer?.version).toBe('1.0');
    expect(await failure(pointerText('dry'))).toHaveProperty('name', 'NoSuchKey');
  });

  it('signs the release so that the agent verifies it', async () => {
    await promoteRelease(publisher, promotion('signed', { kind: 'stable', version: '1.0' }, { signKeyPem }));
    const pointer = await storedPointer('signed');
    const keys = await loadVerifyKeys([signer.publicKey.export({ type: 'spki', format: 'pem' }).toString()]);
    const signed = { version: pointer.version, sha256: pointer.sha256, signature: pointer.signature, keys, url: 'signed' };
    expect(() => verifyReleaseSignature({ service: 'myapp', ...signed })).not.toThrow();
    expect(() => verifyReleaseSignature({ service: 'other', ...signed })).toThrow(ArtifactError);
  });

  it('keeps the stable version beside a signed canary, raises it, makes it stable at 100%', async () => {
    await promoteRelease(publisher, promotion('canary', { kind: 'stable', version: '1.0' }, { signKeyPem }));
    const stableSignature = (await storedPointer('canary')).signature;
    await promoteRelease(publisher, promotion('canary', { kind: 'canary', version: '1.1', percent: 10 }, { signKeyPem }));
    const withCanary = await storedPointer('canary');
    expect(withCanary).toMatchObject({ ...stable('1.0'), signature: stableSignature, canary: { version: '1.1', sha256: releases['1.1']!.sha256, percent: 10 } });
    const keys = await loadVerifyKeys([signer.publicKey.export({ type: 'spki', format: 'pem' }).toString()]);
    const { version, sha256, signature } = withCanary.canary!;
    expect(() => verifyReleaseSignature({ service: 'myapp', version, sha256, signature, keys, url: 'canary' })).not.toThrow();

    await promoteRelease(publisher, promotion('canary', { kind: 'canary', version: '1.1', percent: 30 }, { signKeyPem }));
    expect((await storedPointer('canary')).canary?.percent).toBe(30);
    await promoteRelease(publisher, promotion('canary', { kind: 'canary', version: '1.1', percent: 100 }, { signKeyPem }));
    const promoted = await storedPointer('canary');
    expect(promoted.version).toBe('1.1');
    expect(promoted.canary).toBeUndefined();
    expect(publisher.logger.lines.some((line) => line.message === 'canary 1.1 (30%) is now the stable version')).toBe(true);
  });

  it('drops the canary with abort, keeping the stable version as it was', async () => {
    await promoteRelease(publisher, promotion('abort', { kind: 'stable', version: '1.0' }));
    await promoteRelease(publisher, promotion('abort', { kind: 'canary', version: '1.2', percent: 20 }));
    await promoteRelease(publisher, promotion('abort', { kind: 'abort-canary' }));
    expect(await storedPointer('abort')).toEqual({ ...stable('1.0'), promoted_at: '2026-11-22T10:00:00.000Z', promoted_by: 'ci-bot' });
    const again = await promoteRelease(publisher, promotion('abort', { kind: 'abort-canary' }));
    expect(again.outcome).toBe('unchanged');
  });

  it('refuses a canary without a stable version, and one equal to the stable version', async () => {
    const none = await failure(promoteRelease(publisher, promotion('lonely', { kind: 'canary', version: '1.1', percent: 10 })));
    expect(none).toBeInstanceOf(UsageError);
    expect(none.message).toBe(
      `pointer s3://${bucket}/deploy/myapp/lonely/current has no stable version to keep beside a canary: promote a version without --canary first`,
    );
    await promoteRelease(publisher, promotion('same', { kind: 'stable', version: '1.0' }));
    const same = await failure(promoteRelease(publisher, promotion('same', { kind: 'canary', version: '1.0', percent: 10 })));
    expect(same.message).toBe(`1.0 is already the stable version in s3://${bucket}/deploy/myapp/same/current: a canary must be another version`);
  });

  it('replaces an invalid pointer with a plain promote, warning, but refuses a canary over it', async () => {
    await publisher.s3.send(new PutObjectCommand({ Bucket: bucket, Key: pointerKey('deploy', 'myapp', 'broken'), Body: '{"version": "../x"' }));
    const canary = await failure(promoteRelease(publisher, promotion('broken', { kind: 'canary', version: '1.1', percent: 10 })));
    expect(canary).toBeInstanceOf(ArtifactError);
    expect(canary.message).toMatch(/is not valid JSON .*; promote a version without --canary to replace it$/);
    await promoteRelease(publisher, promotion('broken', { kind: 'stable', version: '1.0' }));
    expect((await storedPointer('broken')).version).toBe('1.0');
    expect(publisher.logger.lines.some((line) => line.level === 'warn' && line.message.startsWith('replacing a pointer that agents refuse'))).toBe(true);
  });
});

describe('readPointerState', () => {
  it('reports a body far larger than any pointer as a problem, without parsing it', async () => {
    const key = pointerKey('deploy', 'myapp', 'huge');
    await publisher.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x'.repeat(70_000) }));
    const state = await readPointerState(publisher.s3, bucket, key);
    expect(state.pointer).toBeUndefined();
    expect(state.etag).toBeDefined();
    expect(state.problem).toBe(`pointer s3://${bucket}/${key} is over 65536 bytes, too large to be a pointer`);
  });
});

describe('two promotions racing from the same read', () => {
  it('lets one win and fails the other with a conflict (exit 7), keeping the winner', async () => {
    await promoteRelease(publisher, promotion('race', { kind: 'stable', version: '1.0' }));
    const key = pointerKey('deploy', 'myapp', 'race');
    const [first, second] = await Promise.all([readPointerState(publisher.s3, bucket, key), readPointerState(publisher.s3, bucket, key)]);
    await writePointer(publisher.s3, first, stable('1.1'));
    const error = await failure(writePointer(publisher.s3, second, stable('1.2')));
    expect(error).toBeInstanceOf(PromoteConflictError);
    expect((error as PromoteConflictError).exitCode).toBe(7);
    expect(error.message).toBe(
      `pointer s3://${bucket}/deploy/myapp/race/current changed since it was read (it had ETag ${second.etag} when it was read): ` +
        'another promotion won the race and was kept; look at it with "pulldeploy releases" and promote again if this version should still win',
    );
    expect((await storedPointer('race')).version).toBe('1.1');
  });

  it('lets only one of two first promotions create the pointer', async () => {
    const key = pointerKey('deploy', 'myapp', 'race-first');
    const [first, second] = await Promise.all([readPointerState(publisher.s3, bucket, key), readPointerState(publisher.s3, bucket, key)]);
    expect(first.etag).toBeUndefined();
    const outcomes = await Promise.allSettled([writePointer(publisher.s3, first, stable('1.1')), writePointer(publisher.s3, second, stable('1.2'))]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(PromoteConflictError);
    expect((rejected.reason as Error).message).toContain('(it did not exist when it was read)');
  });

  it('treats a pointer deleted since it was read as a conflict too', async () => {
    await promoteRelease(publisher, promotion('vanishing', { kind: 'stable', version: '1.0' }));
    const key = pointerKey('deploy', 'myapp', 'vanishing');
    const state = await readPointerState(publisher.s3, bucket, key);
    await publisher.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    expect(await failure(writePointer(publisher.s3, state, stable('1.1')))).toBeInstanceOf(PromoteConflictError);
  });
});
