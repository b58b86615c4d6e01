// Pointer parsing: a good pointer with every optional field, and each way a pointer is refused.
import { describe, expect, it } from 'vitest';
import { isSafeVersion, parsePointer, pointerKey, releaseKey, s3Url } from '../../../src/artifacts/pointer.js';
import { ArtifactError } from '../../../src/errors.js';

const url = 's3://bucket/deploy/myapp/testing/current';
const digest = 'ab'.repeat(32);

function refusal(text: string): string {
  try {
    parsePointer(text, url);
  } catch (error) {
    expect(error).toBeInstanceOf(ArtifactError);
    return (error as Error).message;
  }
  throw new Error('the pointer was accepted');
}

describe('keys and URLs', () => {
  it('builds the pointer and release keys of the S3 layout', () => {
    expect(pointerKey('deploy', 'myapp', 'testing')).toBe('deploy/myapp/testing/current');
    expect(releaseKey('deploy', 'myapp', '20261122.1-3f2a9c1')).toBe('deploy/myapp/releases/20261122.1-3f2a9c1.tar.gz');
    expect(s3Url('bucket', 'deploy/myapp/testing/current')).toBe(url);
  });
});

describe('isSafeVersion', () => {
  it.each(['1', '20261122.1-3f2a9c1', 'v1.2.3+build_7', 'A'.repeat(128)])('accepts %s', (version) => {
    expect(isSafeVersion(version)).toBe(true);
  });

  it.each(['', '.', '..', '../etc', 'a/b', '-rf', '.hidden', 'a b', 'A'.repeat(129), 'é'])('refuses %j', (version) => {
    expect(isSafeVersion(version)).toBe(false);
  });
});

describe('parsePointer', () => {
  it('reads the required fields', () => {
    expect(parsePointer(JSON.stringify({ version: '1.0', sha256: digest }), url)).toEqual({ version: '1.0', sha256: digest });
  });

  it('keeps every optional field', () => {
    const pointer = {
      version: '1.0',
      sha256: digest,
      size: 1234,
      signature: 'c2lnbmF0dXJl',
      canary: { version: '1.1', sha256: 'cd'.repeat(32), percent: 10 },
      promoted_at: '2026-11-22T10:00:00Z',
      promoted_by: 'ci',
    };
    expect(parsePointer(JSON.stringify(pointer), url)).toEqual(pointer);
  });

  it('ignores unknown fields, so newer publishers stay readable', () => {
    expect(parsePointer(JSON.stringify({ version: '1.0', sha256: digest, note: 'x' }), url)).toEqual({ version: '1.0', sha256: digest });
  });

  it('refuses text that is not JSON', () => {
    expect(refusal('{"version": ')).toMatch(/^pointer s3:\/\/bucket\/deploy\/myapp\/testing\/current is not valid JSON \(.+\): republish it/);
  });

  it.each([
    ['an array', '[]', 'expected a JSON object, found an array'],
    ['null', 'null', 'expected a JSON object, found null'],
    ['a string', '"1.0"', 'expected a JSON object, found "1.0"'],
  ])('refuses %s', (_name, text, problem) => {
    expect(refusal(text)).toBe(`pointer ${url} is invalid: ${problem}`);
  });

  it('refuses a pointer without a sha256', () => {
    expect(refusal(JSON.stringify({ version: '1.0' }))).toBe(
      `pointer ${url} is invalid: "sha256" must be 64 lowercase hex digits: a release without a sha256 is never deployed`,
    );
  });

  it.each([
    ['uppercase', 'AB'.repeat(32)],
    ['too short', 'ab'.repeat(31)],
    ['not hex', 'zz'.repeat(32)],
  ])('refuses a %s sha256', (_name, sha256) => {
    expect(refusal(JSON.stringify({ version: '1.0', sha256 }))).toBe(
      `pointer ${url} is invalid: "sha256" must be 64 lowercase hex digits (found "${sha256}"): a release without a sha256 is never deployed`,
    );
  });

  it('refuses a missing version', () => {
    expect(refusal(JSON.stringify({ sha256: digest }))).toBe(`pointer ${url} is invalid: "version" is missing or not a string`);
  });

  it.each(['../../etc', 'a/b', '..', ''])('refuses the unsafe version %j, which would become a directory name', (version) => {
    expect(refusal(JSON.stringify({ version, sha256: digest }))).toBe(
      `pointer ${url} is invalid: "version" ${JSON.stringify(version)} is not a safe version: ` +
        'it must match ^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$ because it becomes a directory name',
    );
  });

  it('cuts a long hostile value short in the message', () => {
    const message = refusal(JSON.stringify({ version: `/${'x'.repeat(10_000)}`, sha256: digest }));
    expect(message).toContain('"version" "/xxx');
    expect(message.length).toBeLessThan(300);
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['a string', '12'],
  ])('refuses a %s size', (_name, size) => {
    expect(refusal(JSON.stringify({ version: '1.0', sha256: digest, size }))).toBe(
      `pointer ${url} is invalid: "size" must be a non-negative integer number of bytes (found ${JSON.stringify(size)})`,
    );
  });

  it.each(['signature', 'promoted_at', 'promoted_by'])('refuses a %s that is not a string', (field) => {
    expect(refusal(JSON.stringify({ version: '1.0', sha256: digest, [field]: 5 }))).toBe(`pointer ${url} is invalid: "${field}" must be a string`);
  });

  it('refuses a canary that is not an object', () => {
    expect(refusal(JSON.stringify({ version: '1.0', sha256: digest, canary: '1.1' }))).toBe(
      `pointer ${url} is invalid: "canary" must be an object with version, sha256 and percent`,
    );
  });

  it('refuses a canary without a sha256', () => {
    expect(refusal(JSON.stringify({ version: '1.0', sha256: digest, canary: { version: '1.1', percent: 5 } }))).toBe(
      `pointer ${url} is invalid: "canary.sha256" must be 64 lowercase hex digits: a release without a sha256 is never deployed`,
    );
  });

  it('refuses a canary with an unsafe version', () => {
    expect(refusal(JSON.stringify({ version: '1.0', sha256: digest, canary: { version: 'a/b', sha256: digest, percent: 5 } }))).toContain(
      '"canary.version" "a/b" is not a safe version',
    );
  });

  it.each([101, -1, '5'])('refuses a canary percent of %j', (percent) => {
    expect(refusal(JSON.stringify({ version: '1.0', sha256: digest, canary: { version: '1.1', sha256: digest, percent } }))).toBe(
      `pointer ${url} is invalid: "canary.percent" must be a number from 0 to 100 (found ${JSON.stringify(percent)})`,
    );
  });
});
