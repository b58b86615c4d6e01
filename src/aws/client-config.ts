// Shared settings for every AWS SDK client: region, bounded retries, path-style S3 on custom endpoints.

/** Reads the environment once, in one place, for the SDK settings we choose ourselves. */
export interface AwsEnvironment {
  /** True when AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3 points S3 at a non-AWS server (MinIO, moto, a local test server). */
  customS3Endpoint: boolean;
}

export function readAwsEnvironment(env: NodeJS.ProcessEnv = process.env): AwsEnvironment {
  return { customS3Endpoint: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) };
}

export interface ClientSettings {
  region: string;
  maxAttempts: number;
  requestHandler: { connectionTimeout: number; requestTimeout: number };
}

export function clientSettings(region: string, maxAttempts = 5): ClientSettings {
  return {
    region,
    maxAttempts,
    // A call that hangs must not outlast the waits and timeouts built on it: bounded, then retried.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  };
}

export function s3ClientSettings(region: string, env: AwsEnvironment = readAwsEnvironment()) {
  return {
    ...clientSettings(region),
    // Custom endpoints are addressed by IP or a single host name, where virtual-host buckets cannot resolve.
    forcePathStyle: env.customS3Endpoint,
    // We verify sha256 of every artifact ourselves; the SDK's CRC checks would hash every byte a second time.
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
}
