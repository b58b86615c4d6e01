// One SigV4-signed GET over node:http(s): keep-alive, bounded connect and read, retried like the SDK's standard mode.
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { Agent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { StaticCredentials } from './credential-source.js';

export interface SignedGetOptions {
  region: string;
  service: string;
  /** Asked once per request, before its first attempt; its failure is not retried here. */
  credentials: () => Promise<StaticCredentials>;
  /** The SDK settings of src/aws/client-config.ts unless told otherwise. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Backoff before retry n is a random share of base × 2^(n-1), at most 20 s, as the SDK's standard retries. */
  retryBaseDelayMs?: number;
  /** Sent unsigned, as the SDK sends its own: what S3 access logs and proxies see of the caller. */
  userAgent: string;
}

export interface SignedAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Consumed or destroyed by the caller. */
  body: IncomingMessage;
}

export type SignedGet = (url: URL, headers?: Record<string, string>) => Promise<SignedAnswer>;

/** sha256 of an empty body: a GET signs its (absent) payload, and S3 requires the header. */
const emptyBodySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const maxBackoffMs = 20_000;

/** The Hash interface the signer expects, on node:crypto. */
class Sha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

export function createSignedGet(options: SignedGetOptions): SignedGet {
  const maxAttempts = options.maxAttempts ?? 5;
  const connectionTimeoutMs = options.connectionTimeoutMs ?? 5_000;
  const readTimeoutMs = options.readTimeoutMs ?? 60_000;
  const retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
  const agents = new Map<string, Promise<{ agent: Agent; request: typeof import('node:http').request }>>();

  // node:https (and TLS with it) is loaded only for an https endpoint: loopback tests and local servers speak http.
  const transport = (protocol: string) => {
    let loaded = agents.get(protocol);
    if (loaded === undefined) {
      loaded = (protocol === 'https:' ? import('node:https') : import('node:http')).then((module) => ({
        agent: new module.Agent({ keepAlive: true }),
        request: module.request,
      }));
      agents.set(protocol, loaded);
    }
    return loaded;
  };

  return async (url, headers = {}) => {
    const credentials = await options.credentials();
    const signer = new SignatureV4({ service: options.service, region: options.region, credentials, sha256: Sha256, uriEscapePath: false });
    const { agent, request } = await transport(url.protocol);
    for (let attempt = 1; ; attempt += 1) {
      const signed = await signer.sign({
        method: 'GET',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: {},
        headers: { host: url.host, 'x-amz-content-sha256': emptyBodySha256, ...headers },
      });
      const last = attempt >= maxAttempts;
      try {
        const answer = await send(request, agent, url, { ...signed.headers, 'user-agent': options.userAgent }, connectionTimeoutMs, readTimeoutMs);
        if (last || !(answer.status >= 500 || answer.status === 429)) return answer;
        answer.body.resume();
      } catch (error) {
        if (last) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(maxBackoffMs, retryBaseDelayMs * 2 ** (attempt - 1))));
    }
  };
}

function send(
  request: typeof import('node:http').request,
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
  connectionTimeoutMs: number,
  readTimeoutMs: number,
): Promise<SignedAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'GET', agent, headers }, (response) =>
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response }),
    );
    outgoing.on('error', reject);
    // Bounds a hung read, the body's included: the socket's idle time, as the SDK's requestTimeout.
    outgoing.setTimeout(readTimeoutMs, () => outgoing.destroy(new Error(`no data from ${url.host} for ${readTimeoutMs} ms`)));
    outgoing.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => outgoing.destroy(new Error(`no connection to ${url.host} within ${connectionTimeoutMs} ms`)), connectionTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    outgoing.end();
  });
}
