// A release body that survives a dropped connection: after a reset, a stall or a short end it reopens the object
// from the next byte (Range) on condition that its ETag is unchanged (If-Match), so the bytes passed on are one
// unbroken copy of one object and the hash, gunzip and extraction downstream never notice the seam.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsError, describeError, errorCode, isPulldeployError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { ReleaseChangedError, type ArtifactStore, type ReleaseBody } from './store.js';

/** Connections one download may open in all, shared by resumes and fresh starts. */
export interface ConnectionBudget {
  readonly limit: number;
  used: number;
}

export interface ResumableBodyOptions {
  store: ArtifactStore;
  key: string;
  /** The `s3://` form, for messages. */
  url: string;
  budget: ConnectionBudget;
  /** Pause before the first reconnection, doubled before each later one. */
  retryDelayMs: number;
  /** A connection that sends nothing for this long (while we wait for it) is abandoned and resumed. */
  idleTimeoutMs: number;
  logger: Logger;
}

/** The body cannot go on where it broke off (no ETag or size to resume by, the object changed, the range was ignored): start again. */
export class RestartDownload extends Error {}

/** Network failures worth reconnecting for; digest mismatches, unsafe content and refusals never are. */
const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** The body ended cleanly but short of the size the store announced: a dropped connection by another name. */
class TruncatedBodyError extends Error {}

function isTransient(error: unknown): boolean {
  if (error instanceof TruncatedBodyError) return true;
  if (isPulldeployError(error) || !(error instanceof Error)) return false;
  const code = errorCode(error);
  // "aborted" is how Node's HTTP client reports a response cut off before its Content-Length.
  return (code !== undefined && transientCodes.has(code)) || error.name === 'TimeoutError' || error.message === 'aborted';
}

/** A network error's message with its code, which is often the more telling part ("aborted, ECONNRESET"). */
export function describeNetworkError(error: unknown): string {
  const message = describeError(error);
  const code = errorCode(error);
  return code !== undefined && !message.includes(code) ? `${message}, ${code}` : message;
}

/** The body of `first` (one connection of the budget, already counted), continued across reconnections. */
export function resumableBody(first: ReleaseBody, options: ResumableBodyOptions): Readable {
  return Readable.from(chunksOf(first, options), { objectMode: false });
}

async function* chunksOf(first: ReleaseBody, options: ResumableBodyOptions): AsyncGenerator<Buffer> {
  const { url, budget, logger } = options;
  const total = first.size;
  const etag = first.etag;
  let body: Readable = first.body;
  let delivered = 0;
  for (let resumes = 0; ; resumes += 1) {
    let failure: unknown;
    const connection = body;
    const watch = (): NodeJS.Timeout =>
      setTimeout(() => {
        connection.destroy(Object.assign(new Error(`no data from ${url} for ${options.idleTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, options.idleTimeoutMs);
    let idle = watch();
    try {
      for await (const chunk of connection) {
        // Only time spent waiting on the network counts: a slow disk downstream is not a stalled connection.
        clearTimeout(idle);
        const buffer = chunk as Buffer;
        delivered += buffer.length;
        yield buffer;
        idle = watch();
      }
    } catch (error) {
      failure = error;
    } finally {
      clearTimeout(idle);
    }
    if (failure === undefined) {
      if (total === undefined || delivered >= total) return;
      failure = new TruncatedBodyError(`the body of ${url} ended after ${delivered} of ${total} bytes`);
    }
    if (!isTransient(failure)) throw failure;
    if (budget.used >= budget.limit) {
      throw new AwsError(`download of ${url} failed after ${budget.used} attempts: ${describeNetworkError(failure)}`, { cause: failure });
    }
    if (etag === undefined || total === undefined) {
      throw new RestartDownload(`download of ${url} failed (${describeNetworkError(failure)}) and cannot resume: the store gave no ETag or size`);
    }
    const delayMs = options.retryDelayMs * 2 ** resumes;
    budget.used += 1;
    logger.warn(
      `download of ${url} broke off after ${delivered} of ${total} bytes (${describeNetworkError(failure)}); ` +
        `resuming from there in ${delayMs} ms (attempt ${budget.used} of ${budget.limit})`,
    );
    await sleep(delayMs);
    body = await reopen(options, delivered, etag, total);
  }
}

/** The rest of the object from `start`, only while it still has `etag`; anything else means starting again. */
async function reopen(options: ResumableBodyOptions, start: number, etag: string, total: number): Promise<Readable> {
  let rest: ReleaseBody;
  try {
    rest = await options.store.openRelease(options.key, { start, etag });
  } catch (error) {
    if (error instanceof ReleaseChangedError) {
      throw new RestartDownload(`${options.url} changed while it was being downloaded (its ETag is no longer ${etag})`);
    }
    throw error;
  }
  if (rest.size !== total - start) {
    rest.body.destroy();
    const answered = rest.size ?? 'an unknown number of';
    throw new RestartDownload(`${options.url} answered a request for bytes ${start}- with ${answered} bytes instead of ${total - start}`);
  }
  return rest.body;
}
