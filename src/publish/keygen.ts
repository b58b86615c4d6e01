// `keygen`: an ed25519 key pair in standard PEM (PKCS#8 private, SPKI public), never over existing files.
import { generateKeyPairSync } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { UsageError, describeError, errorCode } from '../errors.js';

export interface KeyFiles {
  privateKey: string;
  publicKey: string;
}

export function keyFileNames(prefix: string): KeyFiles {
  return { privateKey: `${prefix}.key`, publicKey: `${prefix}.pub` };
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(path, text, { flag: 'wx', mode });
  } catch (error) {
    const reason = errorCode(error) === 'EEXIST' ? 'it already exists (remove it first, or choose another --out)' : describeError(error);
    throw new UsageError(`cannot write ${path}: ${reason}`, { cause: error });
  }
}

/** Writes PREFIX.key (mode 0600) and PREFIX.pub (0644); on failure neither is left behind. */
export async function generateKeyFiles(prefix: string): Promise<KeyFiles> {
  const files = keyFileNames(prefix);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await writeNew(files.privateKey, privatePem, 0o600);
  try {
    await writeNew(files.publicKey, publicPem, 0o644);
  } catch (error) {
    await rm(files.privateKey, { force: true });
    throw error;
  }
  return files;
}
