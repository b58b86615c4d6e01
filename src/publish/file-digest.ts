// The digests of a local file read once: sha256 (hex for the pointer, base64 for S3's checksum header) and MD5 for Content-MD5.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface FileDigest {
  size: number;
  sha256: string;
  sha256Base64: string;
  md5Base64: string;
}

export async function digestFile(path: string): Promise<FileDigest> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const buffer = chunk as Buffer;
    sha256.update(buffer);
    md5.update(buffer);
    size += buffer.length;
  }
  const digest = sha256.digest();
  return { size, sha256: digest.toString('hex'), sha256Base64: digest.toString('base64'), md5Base64: md5.digest('base64') };
}

/** The digests of bytes already in memory, for one part of a multipart upload. */
export function digestBuffer(buffer: Buffer): { sha256Base64: string; md5Base64: string } {
  return {
    sha256Base64: createHash('sha256').update(buffer).digest('base64'),
    md5Base64: createHash('md5').update(buffer).digest('base64'),
  };
}
