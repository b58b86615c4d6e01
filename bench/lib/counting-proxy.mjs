// A counting HTTP proxy on 127.0.0.1 in front of the S3 server: forwards every request and tallies requests and bytes by kind.
import { Agent, createServer, request as forwardRequest } from 'node:http';

// Connection-level headers belong to each hop.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect']);

function withoutHopByHop(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !hopByHop.has(name)));
}

/**
 * What a request was, for the tally: a release GET, a pointer GET (conditional or not), or anything else.
 * Keys follow the S3 contract: `<prefix>/<service>/releases/<v>.tar.gz` and `<prefix>/<service>/<env>/current`.
 */
function classify(method, path, headers) {
  if (method === 'GET' && path.endsWith('.tar.gz')) return 'release GET';
  if (method === 'GET' && path.endsWith('/current')) return headers['if-none-match'] ? 'conditional pointer GET' : 'pointer GET';
  return `${method} other`;
}

/**
 * @typedef {object} ProxyRecord
 * @property {string} kind
 * @property {string} method
 * @property {string} path
 * @property {number} status
 * @property {number} bytes response body bytes sent to the client
 * @property {string | undefined} app the `app/<id>` the AWS SDK adds to its user agent from AWS_SDK_UA_APP_ID: which agent asked
 */

/** @returns {Promise<{ url: string, records: ProxyRecord[], clear(): void, stop(): Promise<void> }>} */
export async function startCountingProxy({ target }) {
  const upstreamUrl = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  /** @type {ProxyRecord[]} */
  const records = [];

  const server = createServer((incoming, response) => {
    const path = new URL(incoming.url ?? '/', 'http://proxy').pathname;
    const record = {
      kind: classify(incoming.method ?? 'GET', path, incoming.headers),
      method: incoming.method ?? 'GET',
      path: decodeURIComponent(path),
      status: 0,
      bytes: 0,
      app: /(?:^|\s)app\/(\S+)/.exec(String(incoming.headers['user-agent'] ?? ''))?.[1],
    };
    records.push(record);
    const upstream = forwardRequest(
      {
        hostname: upstreamUrl.hostname,
        port: upstreamUrl.port,
        method: incoming.method,
        path: incoming.url,
        headers: withoutHopByHop(incoming.headers),
        agent,
      },
      (reply) => {
        record.status = reply.statusCode ?? 0;
        response.writeHead(record.status, withoutHopByHop(reply.headers));
        reply.on('data', (chunk) => {
          record.bytes += chunk.length;
          if (!response.write(chunk)) {
            reply.pause();
            response.once('drain', () => reply.resume());
          }
        });
        reply.on('end', () => response.end());
        reply.on('error', (error) => response.destroy(error));
      },
    );
    upstream.on('error', (error) => {
      if (response.headersSent) return response.destroy(error);
      record.status = 502;
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`counting proxy: ${error.message}`);
    });
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    incoming.pipe(upstream);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', 511, resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    records,
    clear() {
      records.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      agent.destroy();
    },
  };
}

/** Requests and response bytes of `records`, by kind. */
export function tally(records) {
  const byKind = {};
  let bytes = 0;
  for (const record of records) {
    byKind[record.kind] = (byKind[record.kind] ?? 0) + 1;
    bytes += record.bytes;
  }
  return { requests: records.length, bytes, byKind };
}

/** "2 × conditional pointer GET → 304": what a run asked, by kind and answer. */
export function describeRequests(records) {
  const counts = new Map();
  for (const record of records) {
    const key = `${record.kind} → ${record.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${count} × ${key}`).join(', ') || 'none';
}
