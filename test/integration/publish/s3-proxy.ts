// A proxy on 127.0.0.1 in front of moto that can change, answer or hold S3 requests: corruption in transit, and races on purpose.
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path without the query string, e.g. /bucket/deploy/myapp/testing/current. */
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Forward these bytes (the body as received, or changed), or answer without reaching moto. */
export type ProxyDecision = { forward: Buffer } | { answer: { status: number; body: string } };

export interface S3Proxy {
  url: string;
  requests: ProxiedRequest[];
  stop(): Promise<void>;
}

export async function startS3Proxy(target: string, decide: (request: ProxiedRequest) => ProxyDecision | Promise<ProxyDecision>): Promise<S3Proxy> {
  const targetUrl = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const [path = '', query = ''] = (incoming.url ?? '').split('?');
      const proxied: ProxiedRequest = { method: incoming.method ?? 'GET', path: decodeURIComponent(path), query, headers: incoming.headers, body: Buffer.concat(chunks) };
      requests.push(proxied);
      void Promise.resolve(decide(proxied)).then((decision) => {
        if ('answer' in decision) {
          response.writeHead(decision.answer.status, { 'content-type': 'application/xml' }).end(decision.answer.body);
          return;
        }
        const headers = { ...incoming.headers, 'content-length': String(decision.forward.length) };
        const upstream = request({ host: targetUrl.hostname, port: targetUrl.port, method: incoming.method, path: incoming.url, headers }, (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        });
        upstream.on('error', () => response.destroy());
        upstream.end(decision.forward);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function s3Error(code: string, message: string): { answer: { status: number; body: string } } {
  return { answer: { status: 400, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>` } };
}

/**
 * What S3 does with an upload and moto does not: compare the x-amz-checksum-sha256 and Content-MD5 headers with
 * the bytes received, answering 400 BadDigest on a mismatch (moto stores whatever arrives).
 */
export function checkLikeS3(request: ProxiedRequest): ProxyDecision {
  const sha256 = request.headers['x-amz-checksum-sha256'];
  if (typeof sha256 === 'string' && createHash('sha256').update(request.body).digest('base64') !== sha256) {
    return s3Error('BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
  }
  const md5 = request.headers['content-md5'];
  if (typeof md5 === 'string' && createHash('md5').update(request.body).digest('base64') !== md5) {
    return s3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  return { forward: request.body };
}

/** Flips one byte of every upload body (object or part) on its way, then checks it as S3 would. */
export function corruptUploads(request: ProxiedRequest): ProxyDecision {
  if (request.method !== 'PUT' || request.body.length === 0) return { forward: request.body };
  const corrupted = Buffer.from(request.body);
  const middle = Math.floor(corrupted.length / 2);
  corrupted[middle] = (corrupted[middle] ?? 0) ^ 0xff;
  return checkLikeS3({ ...request, body: corrupted });
}

/** Holds PUTs to pointers until `count` have arrived, then lets them all through: every racing writer has read before any writes. */
export function holdPointerWrites(count: number): (request: ProxiedRequest) => Promise<ProxyDecision> {
  const waiting: (() => void)[] = [];
  return async (request) => {
    if (request.method !== 'PUT' || !request.path.endsWith('/current')) return { forward: request.body };
    await new Promise<void>((release) => {
      waiting.push(release);
      if (waiting.length === count) for (const next of waiting) next();
    });
    return { forward: request.body };
  };
}
