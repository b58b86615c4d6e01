// What every publisher command starts from: configuration (bucket, prefix), the region, a logger and an S3 client.
import { S3Client } from '@aws-sdk/client-s3';
import { readAwsEnvironment, s3ClientSettings } from '../aws/client-config.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { CliIo } from '../cli/io.js';
import { loadCommandContext } from '../cli/context.js';
import type { CommonValues } from '../cli/options.js';

export interface PublisherContext {
  bucket: string;
  prefix: string;
  region: string;
  logger: Logger;
  s3: S3Client;
}

/** The publisher's region: --region, else the SDK's usual variables, else us-east-1; the environment is read here only. */
export function publisherRegion(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
}

export async function loadPublisherContext(values: CommonValues & { region?: string }, io: CliIo): Promise<PublisherContext> {
  const { config, logger } = await loadCommandContext(values, io);
  if (config.bucket === '') {
    throw new UsageError('no bucket configured: pass --bucket, set PULLDEPLOY_BUCKET, or "bucket" in the configuration file');
  }
  const region = publisherRegion(values.region, io.env);
  const s3 = new S3Client(s3ClientSettings(region, readAwsEnvironment(io.env)));
  return { bucket: config.bucket, prefix: config.prefix, region, logger, s3 };
}
