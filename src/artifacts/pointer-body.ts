// Reading a pointer object's body into memory, bounded: whichever client fetched it.
import type { Readable } from 'node:stream';
import { awsReason } from '../aws/aws-reason.js';
import { ArtifactError, AwsError } from '../errors.js';

/** A pointer is a few hundred bytes of JSON; anything far larger is not a pointer and is not read into memory. */
export const maxPointerBytes = 64 * 1024;

/** Reads a whole pointer body, refusing one larger than any pointer could be before it is all in memory. */
export async function readPointerText(body: Readable, url: string): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      length += buffer.length;
      if (length > maxPointerBytes) {
        body.destroy();
        throw new ArtifactError(`pointer ${url} is over ${maxPointerBytes} bytes, too large to be a pointer: republish it with "pulldeploy promote"`);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof ArtifactError) throw error;
    throw new AwsError(`cannot read ${url}: ${awsReason(error)}`, { cause: error });
  }
  return Buffer.concat(chunks).toString('utf8');
}
