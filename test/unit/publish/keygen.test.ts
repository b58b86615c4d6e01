// keygen: a standard PEM ed25519 pair that signs and verifies, the private key readable only by its owner, nothing overwritten.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadVerifyKeys, signRelease, verifyReleaseSignature } from '../../../src/artifacts/signature.js';
import { UsageError } from '../../../src/errors.js';
import { generateKeyFiles } from '../../../src/publish/keygen.js';
import { failure } from '../../helpers/failure.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-keygen-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generateKeyFiles', () => {
  it('writes PREFIX.key (PKCS#8, 0600) and PREFIX.pub (SPKI) that sign and verify together', async () => {
    const files = await generateKeyFiles(join(dir, 'release'));
    expect(files).toEqual({ privateKey: join(dir, 'release.key'), publicKey: join(dir, 'release.pub') });
    const privatePem = await readFile(files.privateKey, 'utf8');
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
    expect(await readFile(files.publicKey, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    expect((await stat(files.privateKey)).mode & 0o777).toBe(0o600);
    const release = { service: 'myapp', version: '1.0', sha256: 'a'.repeat(64) };
    const keys = await loadVerifyKeys([files.publicKey]);
    expect(() => verifyReleaseSignature({ ...release, signature: signRelease(privatePem, release), keys, url: 'u' })).not.toThrow();
  });

  it('writes keys OpenSSL reads as an ed25519 pair', async () => {
    const files = await generateKeyFiles(join(dir, 'release'));
    const derived = execFileSync('openssl', ['pkey', '-in', files.privateKey, '-pubout']).toString();
    expect(derived).toBe(await readFile(files.publicKey, 'utf8'));
    expect(execFileSync('openssl', ['pkey', '-in', files.privateKey, '-noout', '-text']).toString()).toMatch(/^ED25519 Private-Key:/);
  });

  it('never overwrites a file, and leaves no half pair behind', async () => {
    await writeFile(join(dir, 'taken.pub'), 'mine');
    const error = await failure(generateKeyFiles(join(dir, 'taken')));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(`cannot write ${join(dir, 'taken.pub')}: it already exists (remove it first, or choose another --out)`);
    expect(await readdir(dir)).toEqual(['taken.pub']);
    expect(await readFile(join(dir, 'taken.pub'), 'utf8')).toBe('mine');
    const missing = await failure(generateKeyFiles(join(dir, 'no', 'such', 'release')));
    expect(missing.message).toMatch(/^cannot write .*release\.key: .*ENOENT/);
  });
});
