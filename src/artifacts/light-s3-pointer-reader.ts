// Conditional pointer reads with one signed GET each and no AWS SDK: a check that finds nothing moved costs two 304s.
import type { Readable } from 'node:stream';
import { awsReason } from '../aws/aws-reason.js';
import type { SignedGet } from '../aws/signed-get.js';
import { s3Url } from './pointer.js';
import { readPointerText } from './pointer-body.js';
import { describeS3ReadFailure } from './s3-read-failure.js';
import type { PointerRead } from './store.js';

export interface LightPointerReaderOptions {
  bucket: string;
  /** The object's HTTP address (src/aws/s3-object-url.ts). */
  objectUrl: (key: string) => URL;
  get: SignedGet;
}

export type ReadPointer = (key: string, etag?: string) => Promise<PointerRead>;

/** S3's error documents are a few hundred bytes; more is read no further. */
const maxErrorBytes = 16 * 1024;

export function createLightPointerReader(options: LightPointerReaderOptions): ReadPointer {
  const { bucket } = options;
  return async (key, etag) => {
    let answer;
    try {
      answer = await options.get(options.objectUrl(key), etag !== undefined ? { 'if-none-match': etag } : {});
    } catch (error) {
      throw describeS3ReadFailure({ code: undefined, status: undefined, reason: awsReason(error), cause: error }, 'pointer', bucket, key);
    }
    if (answer.status === 304 && etag !== undefined) {
      answer.body.resume();
      return { status: 'unchanged' };
    }
    if (answer.status === 200) {
      const text = await readPointerText(answer.body, s3Url(bucket, key));
      return { status: 'found', text, etag: answer.headers.etag };
    }
    const document = await readErrorDocument(answer.body);
    const code = xmlElement(document, 'Code');
    const reason = code !== undefined ? `${code}: ${xmlElement(document, 'Message') ?? `HTTP ${answer.status}`}` : `HTTP ${answer.status}`;
    const cause = Object.assign(new Error(reason), { status: answer.status, document });
    throw describeS3ReadFailure({ code, status: answer.status, reason, cause }, 'pointer', bucket, key);
  };
}

/** The error document S3 sends with a failure, or what could be read of it before it broke off. */
async function readErrorDocument(body: Readable): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      text += String(chunk);
      if (text.length > maxErrorBytes) break;
    }
  } catch {
    // The status alone still says what failed.
  }
  body.destroy();
  return text;
}

/** One element's text in S3's flat error XML (`<Error><Code>NoSuchKey</Code>…`); no XML parser is needed for that. */
function xmlElement(document: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(document);
  return match?.[1] !== undefined ? decodeXmlText(match[1]) : undefined;
}

function decodeXmlText(text: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_match, entity: string) => entities[entity] ?? '');
}
