// Pointer and release reads with one signed GET each and no AWS SDK: a check that finds nothing moved costs two 304s,
// and a deploy streams its releases without loading the SDK at all.
import type { Readable } from 'node:stream';
import { awsReason } from '../aws/aws-reason.js';
import type { SignedAnswer, SignedGet } from '../aws/signed-get.js';
import { s3Url } from './pointer.js';
import { readPointerText } from './pointer-body.js';
import { describeS3ReadFailure, type S3ObjectRole } from './s3-read-failure.js';
import type { ArtifactStore } from './store.js';

export interface LightS3StoreOptions {
  bucket: string;
  /** The object's HTTP address (src/aws/s3-object-url.ts). */
  objectUrl: (key: string) => URL;
  get: SignedGet;
}

/** S3's error documents are a few hundred bytes; more is read no further. */
const maxErrorBytes = 16 * 1024;

export function createLightS3Store(options: LightS3StoreOptions): ArtifactStore {
  const { bucket } = options;

  const get = async (key: string, role: S3ObjectRole, headers: Record<string, string>): Promise<SignedAnswer> => {
    try {
      return await options.get(options.objectUrl(key), headers);
    } catch (error) {
      throw describeS3ReadFailure({ code: undefined, status: undefined, reason: awsReason(error), cause: error }, role, bucket, key);
    }
  };

  return {
    bucket,
    url: (key) => s3Url(bucket, key),

    async readPointer(key, etag) {
      const answer = await get(key, 'pointer', etag !== undefined ? { 'if-none-match': etag } : {});
      if (answer.status === 304 && etag !== undefined) {
        answer.body.resume();
        return { status: 'unchanged' };
      }
      if (answer.status !== 200) throw await describeErrorAnswer(answer, 'pointer', bucket, key);
      const text = await readPointerText(answer.body, s3Url(bucket, key));
      return { status: 'found', text, etag: answer.headers.etag };
    },

    async openRelease(key, range) {
      const conditions: Record<string, string> = range !== undefined ? { range: `bytes=${range.start}-`, 'if-match': range.etag } : {};
      const answer = await get(key, 'release', conditions);
      // 206 for a range; a 200 to a range request (a server that ignores ranges) is the whole object, whose size
      // then tells the caller it cannot resume from it.
      if (answer.status !== 200 && !(answer.status === 206 && range !== undefined)) {
        throw await describeErrorAnswer(answer, 'release', bucket, key);
      }
      const length = Number(answer.headers['content-length']);
      return { body: answer.body, size: Number.isSafeInteger(length) ? length : undefined, etag: answer.headers.etag };
    },
  };
}

/** The error and advice for an answer that is not the object: S3's own code and message when it sent them. */
async function describeErrorAnswer(answer: SignedAnswer, role: S3ObjectRole, bucket: string, key: string): Promise<Error> {
  const document = await readErrorDocument(answer.body);
  const code = xmlElement(document, 'Code');
  const reason = code !== undefined ? `${code}: ${xmlElement(document, 'Message') ?? `HTTP ${answer.status}`}` : `HTTP ${answer.status}`;
  const cause = Object.assign(new Error(reason), { status: answer.status, document });
  return describeS3ReadFailure({ code, status: answer.status, reason, cause }, role, bucket, key);
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
