// The IMDSv2 client over real HTTP against the fake metadata service: token first, tags, unreachable endpoints.
import { createServer, type RequestListener } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startMetadataServer } from '../../../scripts/servers/metadata-server.mjs';
import { IdentityError } from '../../../src/errors.js';
import { createMetadataClient, readMetadataEndpoint } from '../../../src/identity/metadata.js';
import { freePort } from '../../helpers/ports.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function start(options: Parameters<typeof startMetadataServer>[0]) {
  const server = await startMetadataServer(options);
  cleanups.push(() => server.stop());
  return server;
}

/** A loopback HTTP server with the given handler, stopped after the test; answers its base URL. */
async function listen(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** Issues any token, then answers every GET alike. */
function answerGetsWith(status: number, body = ''): RequestListener {
  return (request, response) => {
    if (request.method === 'PUT') response.writeHead(200).end('token');
    else response.writeHead(status).end(body);
  };
}

describe('readMetadataEndpoint', () => {
  it('honours AWS_EC2_METADATA_SERVICE_ENDPOINT without a trailing slash', () => {
    expect(readMetadataEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9999/' })).toBe('http://127.0.0.1:9999');
  });

  it('defaults to the link-local address, or the IPv6 one in IPv6 mode', () => {
    expect(readMetadataEndpoint({})).toBe('http://169.254.169.254');
    expect(readMetadataEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' })).toBe('http://[fd00:ec2::254]');
  });
});

describe('metadata client', () => {
  it('gets a token first, then reads instance id, region and group tag with it', async () => {
    const server = await start({ instanceId: 'i-0abc898900', region: 'eu-west-2', asgName: 'myapp-testing-euwest2' });
    const metadata = createMetadataClient({ endpoint: server.url });
    expect(await metadata.instanceId()).toBe('i-0abc898900');
    expect(await metadata.region()).toBe('eu-west-2');
    expect(await metadata.autoScalingGroupTag()).toBe('myapp-testing-euwest2');
    expect(server.requests).toEqual([
      { method: 'PUT', path: '/latest/api/token', hadToken: false },
      { method: 'GET', path: '/latest/meta-data/instance-id', hadToken: true },
      { method: 'GET', path: '/latest/meta-data/placement/region', hadToken: true },
      { method: 'GET', path: '/latest/meta-data/tags/instance/aws:autoscaling:groupName', hadToken: true },
    ]);
  });

  it('answers undefined for the group tag when metadata tags are disabled', async () => {
    const server = await start({ instanceId: 'i-0abc898900', region: 'us-east-1', asgName: undefined });
    expect(await createMetadataClient({ endpoint: server.url }).autoScalingGroupTag()).toBeUndefined();
  });

  it('uses the endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT by default', async () => {
    const server = await start({ instanceId: 'i-0abc898900', region: 'us-east-1' });
    vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', server.url);
    expect(await createMetadataClient().instanceId()).toBe('i-0abc898900');
  });

  it('fails naming the endpoint, quickly, when nothing listens there', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const failure = createMetadataClient({ endpoint, attempts: 2 }).instanceId();
    await expect(failure).rejects.toThrow(IdentityError);
    await expect(failure).rejects.toThrow(
      new RegExp(
        `^instance metadata at ${endpoint} unreachable \\(connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+, 2 attempts\\): ` +
          'not on EC2\\? set AWS_EC2_METADATA_SERVICE_ENDPOINT, or give SERVICE INSTANCE on the command line',
      ),
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('gives up on a silent endpoint within its per-request timeout', async () => {
    // Accepts connections and never answers, like a metadata endpoint beyond the hop limit.
    const endpoint = await listen(() => {});
    const started = Date.now();
    const failure = createMetadataClient({ endpoint, timeoutMs: 150, attempts: 2 }).region();
    await expect(failure).rejects.toThrow(`instance metadata at ${endpoint} unreachable (no answer within 150 ms, 2 attempts)`);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('retries a 5xx answer and succeeds when the service recovers', async () => {
    let failuresLeft = 2;
    const endpoint = await listen((request, response) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        response.writeHead(503).end();
        return;
      }
      answerGetsWith(200, 'us-east-1')(request, response);
    });
    expect(await createMetadataClient({ endpoint, attempts: 3 }).region()).toBe('us-east-1');
    expect(failuresLeft).toBe(0);
  });

  it('gives up after its attempts on a persistent 5xx, naming the status', async () => {
    const endpoint = await listen((_request, response) => response.writeHead(503).end());
    await expect(createMetadataClient({ endpoint, attempts: 2 }).instanceId()).rejects.toThrow(
      `instance metadata at ${endpoint} unreachable (HTTP 503, 2 attempts)`,
    );
  });

  it('explains a refused token as metadata being disabled', async () => {
    const endpoint = await listen((_request, response) => response.writeHead(403).end());
    await expect(createMetadataClient({ endpoint }).instanceId()).rejects.toThrow(
      `instance metadata at ${endpoint} refused a session token (HTTP 403): is the metadata endpoint disabled on this instance?`,
    );
  });

  it('names the path when metadata answers an unexpected status', async () => {
    const endpoint = await listen(answerGetsWith(403));
    const metadata = createMetadataClient({ endpoint });
    await expect(metadata.instanceId()).rejects.toThrow(
      `instance metadata at ${endpoint} answered HTTP 403 for /latest/meta-data/instance-id`,
    );
    await expect(metadata.autoScalingGroupTag()).rejects.toThrow(
      `instance metadata at ${endpoint} answered HTTP 403 for /latest/meta-data/tags/instance/aws:autoscaling:groupName`,
    );
  });
});
