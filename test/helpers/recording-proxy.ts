// An HTTP proxy on 127.0.0.1 in front of a test server (moto): forwards and records every request in order, can answer
// some itself, and can break a response body on its way (reset, clean close or stall after so many bytes).
import { Agent, createServer, request as forwardRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, pipeline } from 'node:stream';

export interface RecordedRequest {
  method: string;
  /** The URL path, without the query string. */
  path: string;
  /** The SigV4 signing name (`s3`, `ec2`, `autoscaling`, `elasticloadbalancing`), from the Authorization header or a presigned URL. */
  service: string | undefined;
  /** The query-API Action (`RegisterTargets`), from the form body or the query string. */
  action: string | undefined;
  /** Every query-API parameter (`Targets.member.1.Id` → `i-0abc`), from the form body and the query string. */
  params: Record<string, string>;
  /** For S3 (path-style) requests: the bucket and the decoded object key. */
  bucket: string | undefined;
  key: string | undefined;
  /** The response status; 0 until the response starts. */
  status: number;
  requestHeaders: { 'if-none-match'?: string; 'if-match'?: string; range?: string };
  /** Response body bytes passed to the client so far. */
  responseBytes: number;
  /** True when the answer function answered instead of the target. */
  answered: boolean;
}

export interface ProxyAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/**
 * What happens to a forwarded response body after `after` bytes: the connection is reset (RST), closed cleanly
 * short of its Content-Length (FIN), or left open with nothing more sent.
 */
export interface BodyFault {
  after: number;
  then: 'reset' | 'close' | 'stall';
}

export interface RecordingProxyOptions {
  /** Base URL of the server to forward to, e.g. moto's. */
  target: string;
  /** Answers a request itself instead of forwarding it (calls the target lacks, injected faults); undefined forwards. */
  answer?: (request: RecordedRequest) => ProxyAnswer | undefined;
  /** Breaks the body of a forwarded response on its way; undefined passes it whole. */
  disrupt?: (request: RecordedRequest) => BodyFault | undefined;
}

export interface RecordingProxy {
  url: string;
  /** Every request in order of arrival; each record is completed as its response passes. */
  readonly requests: RecordedRequest[];
  clear(): void;
  stop(): Promise<void>;
}

const recordedHeaders = ['if-none-match', 'if-match', 'range'] as const;
// Connection-level headers belong to each hop; `expect` is answered by our own server, so it is not passed on.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect']);

export async function startRecordingProxy(options: RecordingProxyOptions): Promise<RecordingProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true });
  const requests: RecordedRequest[] = [];

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`recording proxy: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  async function handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const record = startRecord(incoming, url);
    requests.push(record);
    // Query-API bodies are small forms: read them whole for the Action; anything else (S3 objects) streams through.
    const form = isForm(incoming.headers) ? await readAll(incoming) : undefined;
    if (form !== undefined) {
      Object.assign(record.params, Object.fromEntries(new URLSearchParams(form.toString('utf8'))));
      record.action = record.params.Action;
    }

    const answer = options.answer?.(record);
    if (answer !== undefined) {
      if (form === undefined) incoming.resume();
      record.answered = true;
      record.status = answer.status;
      record.responseBytes = Buffer.byteLength(answer.body);
      response.writeHead(answer.status, { 'content-type': 'text/xml', ...answer.headers });
      response.end(answer.body);
      return;
    }

    const upstream = forwardRequest(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: withoutHopByHop(incoming.headers),
        agent,
      },
      (reply) => {
        record.status = reply.statusCode ?? 0;
        response.writeHead(record.status, withoutHopByHop(reply.headers));
        const fault = options.disrupt?.(record);
        if (fault === undefined) pipeline(reply, countBytes(record), response, () => undefined);
        else breakBody(reply, response, record, fault);
      },
    );
    upstream.on('error', (error) => {
      if (response.headersSent) return response.destroy(error);
      record.status = 502;
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`recording proxy: ${target.origin} failed: ${error.message}`);
    });
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    if (form !== undefined) upstream.end(form);
    else pipeline(incoming, upstream, () => undefined);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    clear: () => {
      requests.length = 0;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** A successful query-API (EC2, Auto Scaling, ELB) answer: `<ActionResponse><ActionResult>resultXml</ActionResult>…`. */
export function queryApiResult(action: string, resultXml = ''): ProxyAnswer {
  return {
    status: 200,
    body:
      `<${action}Response><${action}Result>${resultXml}</${action}Result>` +
      `<ResponseMetadata><RequestId>recording-proxy</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** A query-API error answer, as AWS sends one: the SDK raises it as an error named `code`. */
export function queryApiError(code: string, message: string, status = 400): ProxyAnswer {
  return {
    status,
    body:
      `<ErrorResponse><Error><Type>Sender</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
      `<RequestId>recording-proxy</RequestId></ErrorResponse>`,
  };
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function startRecord(incoming: IncomingMessage, url: URL): RecordedRequest {
  const params = Object.fromEntries(url.searchParams);
  const service = signingService(incoming.headers.authorization ?? params['X-Amz-Credential']);
  const [bucket, ...keyParts] = url.pathname.slice(1).split('/');
  const key = keyParts.length > 0 && keyParts.join('/') !== '' ? decodeURIComponent(keyParts.join('/')) : undefined;
  const requestHeaders: RecordedRequest['requestHeaders'] = {};
  for (const name of recordedHeaders) {
    const value = incoming.headers[name];
    if (typeof value === 'string') requestHeaders[name] = value;
  }
  return {
    method: incoming.method ?? 'GET',
    path: url.pathname,
    service,
    action: params.Action,
    params,
    bucket: service === 's3' && bucket ? bucket : undefined,
    key: service === 's3' ? key : undefined,
    status: 0,
    requestHeaders,
    responseBytes: 0,
    answered: false,
  };
}

/** `AWS4-HMAC-SHA256 Credential=test/20261122/us-east-1/s3/aws4_request, …` → `s3`. */
function signingService(credential: string | undefined): string | undefined {
  return credential === undefined ? undefined : /\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/.exec(credential)?.[1];
}

function isForm(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !hopByHop.has(name)));
}

/** Passes the first `fault.after` bytes of the reply, then stops reading it and breaks the connection as asked. */
function breakBody(reply: IncomingMessage, response: ServerResponse, record: RecordedRequest, fault: BodyFault): void {
  let broken = false;
  reply.on('data', (chunk: Buffer) => {
    if (broken) return;
    const room = fault.after - record.responseBytes;
    const part = chunk.subarray(0, Math.max(0, room));
    record.responseBytes += part.length;
    if (chunk.length < room) {
      response.write(chunk);
      return;
    }
    broken = true;
    reply.destroy();
    response.write(part, () => {
      if (fault.then === 'reset') response.socket?.resetAndDestroy();
      else if (fault.then === 'close') response.socket?.end();
      // 'stall': the connection stays open and silent until the client gives up or the proxy stops.
    });
  });
  reply.on('end', () => {
    if (!broken) response.end();
  });
}

function countBytes(record: RecordedRequest): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      record.responseBytes += chunk.length;
      done(null, chunk);
    },
  });
}
