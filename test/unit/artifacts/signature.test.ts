// Release signatures: the canonical message, signing, loading verify_keys, and each reason a signature is refused.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVerifyKeys, signRelease, signingMessage, verifyReleaseSignature } from '../../../src/artifacts/signature.js';
import { ArtifactError, ConfigError, UsageError } from '../../../src/errors.js';
import { failure } from '../../helpers/failure.js';

const url = 's3://bucket/deploy/myapp/testing/current';
const release = { service: 'myapp', version: '1.0', sha256: 'ab'.repeat(32) };

function ed25519Pair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const current = ed25519Pair();
const next = ed25519Pair();
const stranger = ed25519Pair();
let dir: string;
let currentKey: KeyObject;
let nextKey: KeyObject;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-signature-'));
  [currentKey, nextKey] = await loadVerifyKeys([current.publicPem, next.publicPem]) as [KeyObject, KeyObject];
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function refusal(check: () => void): string {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(ArtifactError);
    return (error as Error).message;
  }
  throw new Error('the signature was accepted');
}

describe('signingMessage', () => {
  it('is the documented canonical form', () => {
    expect(signingMessage('myapp', '1.0', 'ab'.repeat(32))).toBe(
      `pulldeploy-release-v1\nservice=myapp\nversion=1.0\nsha256=${'ab'.repeat(32)}\n`,
    );
  });

  it('is the message the README documents', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
    const block = /### Signing\n[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1];
    const documented = block
      ?.replace('<service>', 'myapp')
      .replace('<version>', '1.0')
      .replace('<sha256 of the .tar.gz, 64 lowercase hex digits>', 'ab'.repeat(32));
    expect(documented).toBe(signingMessage('myapp', '1.0', 'ab'.repeat(32)));
  });

  it('verifies a signature OpenSSL made over the documented message, as the README shows', async () => {
    const keyFile = join(dir, 'openssl.key');
    const messageFile = join(dir, 'message');
    await writeFile(keyFile, current.privatePem);
    await writeFile(messageFile, signingMessage(release.service, release.version, release.sha256));
    const signature = execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-inkey', keyFile, '-in', messageFile]).toString('base64');
    expect(() => verifyReleaseSignature({ ...release, signature, keys: [currentKey], url })).not.toThrow();
  });

  it('refuses a field with a line break, which could forge another release\'s message', () => {
    expect(() => signingMessage('myapp\nversion=2', '1.0', 'ab'.repeat(32))).toThrow(UsageError);
    expect(() => signingMessage('myapp', '1.0\r', 'ab'.repeat(32))).toThrow(/version contains a line break/);
  });
});

describe('signRelease and verifyReleaseSignature', () => {
  it('accepts a signature by the configured key', () => {
    const signature = signRelease(current.privatePem, release);
    expect(Buffer.from(signature, 'base64')).toHaveLength(64);
    expect(() => verifyReleaseSignature({ ...release, signature, keys: [currentKey], url })).not.toThrow();
  });

  it('accepts a signature by either of two keys, for rotation', () => {
    const byNext = signRelease(next.privatePem, release);
    const byCurrent = signRelease(current.privatePem, release);
    expect(() => verifyReleaseSignature({ ...release, signature: byNext, keys: [currentKey, nextKey], url })).not.toThrow();
    expect(() => verifyReleaseSignature({ ...release, signature: byCurrent, keys: [currentKey, nextKey], url })).not.toThrow();
  });

  it.each([
    ['version', { version: '1.1' }],
    ['sha256', { sha256: 'cd'.repeat(32) }],
    ['service', { service: 'billing' }],
  ])('refuses a signature over another %s', (_field, change) => {
    const signature = signRelease(current.privatePem, release);
    expect(refusal(() => verifyReleaseSignature({ ...release, ...change, signature, keys: [currentKey], url }))).toMatch(
      /^pointer s3:\/\/bucket\/deploy\/myapp\/testing\/current: the signature does not verify for service .+ with any of the 1 verify_keys: the pointer was changed after it was signed/,
    );
  });

  it('refuses a signature by a key that is not configured', () => {
    const signature = signRelease(stranger.privatePem, release);
    expect(refusal(() => verifyReleaseSignature({ ...release, signature, keys: [currentKey, nextKey], url }))).toContain(
      'with any of the 2 verify_keys',
    );
  });

  it('refuses an unsigned pointer, naming the fix', () => {
    expect(refusal(() => verifyReleaseSignature({ ...release, signature: undefined, keys: [currentKey], url }))).toBe(
      `pointer ${url} is not signed, but verify_keys is set: promote with --sign-key`,
    );
    expect(refusal(() => verifyReleaseSignature({ ...release, signature: '', keys: [currentKey], url }))).toContain('is not signed');
  });

  it.each([
    ['not base64', '!!!not-base64!!!'],
    ['too short', Buffer.alloc(32).toString('base64')],
    ['too long', Buffer.alloc(65).toString('base64')],
  ])('refuses a signature that is %s', (_name, signature) => {
    expect(refusal(() => verifyReleaseSignature({ ...release, signature, keys: [currentKey], url }))).toBe(
      `pointer ${url} has a malformed signature for myapp 1.0: expected the base64 of 64 bytes (an ed25519 signature); promote it again with --sign-key`,
    );
  });

  it('refuses to sign with a key that is not an ed25519 private key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => signRelease(rsa, release)).toThrow(/the signing key is a rsa key, not ed25519/);
    expect(() => signRelease('not a key', release)).toThrow(UsageError);
    expect(() => signRelease(current.publicPem, release)).toThrow(/not a PEM private key/);
  });
});

describe('loadVerifyKeys', () => {
  it('loads PEM text and PEM files', async () => {
    const file = join(dir, 'next.pub');
    await writeFile(file, next.publicPem);
    const keys = await loadVerifyKeys([current.publicPem, file]);
    expect(keys.map((key) => key.asymmetricKeyType)).toEqual(['ed25519', 'ed25519']);
    const signature = signRelease(next.privatePem, release);
    expect(() => verifyReleaseSignature({ ...release, signature, keys, url })).not.toThrow();
  });

  it('reports every bad entry at once, each named, as a configuration error', async () => {
    const rsaPublic = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const garbage = join(dir, 'garbage.pub');
    await writeFile(garbage, '-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n');
    const missing = join(dir, 'missing.pub');
    const error = await failure(loadVerifyKeys([missing, current.privatePem, rsaPublic, garbage, current.publicPem]));
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(new RegExp(`^verify_keys entry "${missing}": cannot read it \\(.*ENOENT.*\\): give a PEM public key`));
    expect(problems[1]).toBe(
      'verify_keys entry PEM text: is a private key: configure the public key (the .pub file of "pulldeploy keygen") and keep the private key in CI',
    );
    expect(problems[2]).toBe('verify_keys entry PEM text: is a rsa public key, not ed25519');
    expect(problems[3]).toMatch(new RegExp(`^verify_keys entry "${garbage}": is not a PEM public key`));
    expect(error.message).toMatch(/^invalid configuration in verify_keys:/);
  });

  it('answers no keys for an empty list', async () => {
    expect(await loadVerifyKeys([])).toEqual([]);
  });
});
