// EC2 instance metadata (IMDSv2) over fetch: a session token first, then GETs carrying it, each bounded and retried.
import { IdentityError, describeError } from '../errors.js';

/** What identity resolution needs from instance metadata; faked in tests. */
export interface MetadataSource {
  instanceId(): Promise<string>;
  /** The AWS region with dashes: `us-east-1`. */
  region(): Promise<string>;
  /** The instance's Auto Scaling group from its tags; undefined when metadata tags are not enabled. */
  autoScalingGroupTag(): Promise<string | undefined>;
}

/** The real client also reads any other path, such as the instance profile's credentials. */
export interface MetadataClient extends MetadataSource {
  /** The text at a metadata path (`/latest/meta-data/...`); an IdentityError unless it answers 200. */
  read(path: string): Promise<string>;
}

export interface MetadataClientOptions {
  /** Defaults to readMetadataEndpoint(process.env). */
  endpoint?: string;
  /** Per request, body included. */
  timeoutMs?: number;
  /** Tries per request, for network failures, timeouts and 5xx answers. */
  attempts?: number;
}

export const defaultMetadataEndpoint = 'http://169.254.169.254';
const ipv6MetadataEndpoint = 'http://[fd00:ec2::254]';
const tokenTtlSeconds = '21600';
const retryDelayMs = 200;

/** The endpoint the AWS SDKs use too: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the IPv4 or IPv6 address by mode. */
export function readMetadataEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  if (configured) return configured.replace(/\/+$/, '');
  return env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE?.toLowerCase() === 'ipv6' ? ipv6MetadataEndpoint : defaultMetadataEndpoint;
}

interface MetadataAnswer {
  status: number;
  body: string;
}

export function createMetadataClient(options: MetadataClientOptions = {}): MetadataClient {
  const endpoint = options.endpoint ?? readMetadataEndpoint();
  const timeoutMs = options.timeoutMs ?? 2000;
  const attempts = options.attempts ?? 3;
  let token: Promise<string> | undefined;

  const send = async (method: string, path: string, headers: Record<string, string>): Promise<MetadataAnswer> => {
    let reason = '';
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        const response = await fetch(endpoint + path, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
        const body = await response.text();
        if (response.status < 500) return { status: response.status, body };
        reason = `HTTP ${response.status}`;
      } catch (error) {
        reason = describeFetchFailure(error, timeoutMs);
      }
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
    }
    throw new IdentityError(
      `instance metadata at ${endpoint} unreachable (${reason}, ${attempts} attempts): not on EC2? ` +
        'set AWS_EC2_METADATA_SERVICE_ENDPOINT, or give SERVICE INSTANCE on the command line on a host with a ' +
        'conventional hostname; in a container, raise the instance metadata hop limit to 2',
    );
  };

  const requestToken = async (): Promise<string> => {
    const answer = await send('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': tokenTtlSeconds });
    if (answer.status === 200 && answer.body !== '') return answer.body;
    const hint =
      answer.status === 403
        ? ': is the metadata endpoint disabled on this instance? (aws ec2 modify-instance-metadata-options --http-endpoint enabled)'
        : '';
    throw new IdentityError(`instance metadata at ${endpoint} refused a session token (HTTP ${answer.status})${hint}`);
  };

  const get = async (path: string): Promise<MetadataAnswer> => {
    // One token serves the whole run: its TTL is hours, a run is seconds.
    token ??= requestToken().catch((error: unknown) => {
      token = undefined;
      throw error;
    });
    return send('GET', path, { 'X-aws-ec2-metadata-token': await token });
  };

  const getRequired = async (path: string): Promise<string> => {
    const answer = await get(path);
    if (answer.status === 200) return answer.body.trim();
    throw new IdentityError(`instance metadata at ${endpoint} answered HTTP ${answer.status} for ${path}`);
  };

  return {
    read: getRequired,
    instanceId: () => getRequired('/latest/meta-data/instance-id'),
    region: () => getRequired('/latest/meta-data/placement/region'),
    autoScalingGroupTag: async () => {
      const path = '/latest/meta-data/tags/instance/aws:autoscaling:groupName';
      const answer = await get(path);
      // 404 is how metadata says "instance tags are not enabled" (or the instance has no such tag).
      if (answer.status === 404) return undefined;
      if (answer.status === 200) return answer.body.trim();
      throw new IdentityError(`instance metadata at ${endpoint} answered HTTP ${answer.status} for ${path}`);
    },
  };
}

function describeFetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // fetch wraps socket errors as the cause of a bare "fetch failed"; an AggregateError cause has only a code.
  if (error instanceof Error && error.cause instanceof Error) {
    const cause: NodeJS.ErrnoException = error.cause;
    return cause.message || cause.code || error.message;
  }
  return describeError(error);
}
