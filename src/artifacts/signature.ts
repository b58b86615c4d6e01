// Ed25519 release signatures (DESIGN.md §7): the canonical message, signing on the CI side, key loading and verification on the agent.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ArtifactError, ConfigError, UsageError, describeError } from '../errors.js';

export interface SignedRelease {
  service: string;
  version: string;
  sha256: string;
}

/** An ed25519 signature is always 64 bytes, which is 88 characters of padded base64. */
const signatureBytes = 64;
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The exact bytes a signature covers, as UTF-8 (documented in the README, section "Publishing from CI"):
 *
 *     pulldeploy-release-v1\nservice=<service>\nversion=<version>\nsha256=<sha256>\n
 *
 * One field per line, so no value may hold a line break: otherwise two different releases could share a message.
 */
export function signingMessage(service: string, version: string, sha256: string): string {
  for (const [name, value] of Object.entries({ service, version, sha256 })) {
    if (/[\r\n]/.test(value)) throw new UsageError(`cannot sign or verify a release whose ${name} contains a line break: ${JSON.stringify(value)}`);
  }
  return `pulldeploy-release-v1\nservice=${service}\nversion=${version}\nsha256=${sha256}\n`;
}

/** The ed25519 private key in `privateKeyPem`; anything else is a UsageError naming the fix. */
function signingKey(privateKeyPem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new UsageError(`the signing key is not a PEM private key (${describeError(error)}): make one with "pulldeploy keygen --out PREFIX"`, {
      cause: error,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UsageError(`the signing key is a ${key.asymmetricKeyType ?? 'unknown'} key, not ed25519: make one with "pulldeploy keygen --out PREFIX"`);
  }
  return key;
}

/** Checks a signing key before any work is done with it. */
export function checkSigningKey(privateKeyPem: string): void {
  signingKey(privateKeyPem);
}

/** Signs a release with an ed25519 private key in PEM; answers the base64 signature that goes into the pointer. */
export function signRelease(privateKeyPem: string, release: SignedRelease): string {
  const message = signingMessage(release.service, release.version, release.sha256);
  return sign(null, Buffer.from(message, 'utf8'), signingKey(privateKeyPem)).toString('base64');
}

/** Loads `verify_keys`: each entry is PEM text or the path of a PEM file; every bad entry is reported at once. */
export async function loadVerifyKeys(entries: readonly string[]): Promise<KeyObject[]> {
  const problems: string[] = [];
  const keys: KeyObject[] = [];
  for (const entry of entries) {
    const isPemText = entry.includes('-----BEGIN');
    const name = isPemText ? 'PEM text' : JSON.stringify(entry);
    let pem = entry;
    if (!isPemText) {
      try {
        pem = await readFile(entry, 'utf8');
      } catch (error) {
        problems.push(`verify_keys entry ${name}: cannot read it (${describeError(error)}): give a PEM public key or the path of one`);
        continue;
      }
    }
    const problem = publicKeyProblem(pem);
    if (typeof problem === 'string') problems.push(`verify_keys entry ${name}: ${problem}`);
    else keys.push(problem);
  }
  if (problems.length > 0) throw new ConfigError('verify_keys', problems);
  return keys;
}

/** The ed25519 public key in `pem`, or why it is not one. */
function publicKeyProblem(pem: string): KeyObject | string {
  // createPublicKey would derive a public key from a private one; a private key has no business on every instance.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return 'is a private key: configure the public key (the .pub file of "pulldeploy keygen") and keep the private key in CI';
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    return `is not a PEM public key (${describeError(error)})`;
  }
  if (key.asymmetricKeyType !== 'ed25519') return `is a ${key.asymmetricKeyType ?? 'unknown'} public key, not ed25519`;
  return key;
}

export interface SignatureCheck extends SignedRelease {
  signature: string | undefined;
  keys: readonly KeyObject[];
  /** The pointer the release came from, for messages. */
  url: string;
}

/** Throws ArtifactError (exit 4) unless one of `keys` signed exactly this service, version and sha256. */
export function verifyReleaseSignature(args: SignatureCheck): void {
  const { service, version, sha256, signature, keys, url } = args;
  if (signature === undefined || signature === '') {
    throw new ArtifactError(`pointer ${url} is not signed, but verify_keys is set: promote with --sign-key`);
  }
  const bytes = Buffer.from(signature, 'base64');
  if (!base64Pattern.test(signature) || bytes.length !== signatureBytes) {
    throw new ArtifactError(
      `pointer ${url} has a malformed signature for ${service} ${version}: expected the base64 of ${signatureBytes} bytes (an ed25519 signature); promote it again with --sign-key`,
    );
  }
  const message = Buffer.from(signingMessage(service, version, sha256), 'utf8');
  if (keys.some((key) => verify(null, message, key, bytes))) return;
  throw new ArtifactError(
    `pointer ${url}: the signature does not verify for service ${service}, version ${version}, sha256 ${sha256} ` +
      `with any of the ${keys.length} verify_keys: the pointer was changed after it was signed (service, version or sha256), ` +
      'or it was signed with a key that is not configured',
  );
}
