// A publisher context on moto (or on a proxy in front of it) with a fresh bucket, for integration tests.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createMemoryLogger } from '../../../src/log/logger.js';
import type { PublisherContext } from '../../../src/publish/publisher-context.js';

export type TestPublisher = PublisherContext & { logger: ReturnType<typeof createMemoryLogger> };

export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

export async function createBucket(name = `publish-${randomBytes(6).toString('hex')}`): Promise<string> {
  const admin = s3ClientFor(inject('motoUrl'));
  await admin.send(new CreateBucketCommand({ Bucket: name }));
  admin.destroy();
  return name;
}

/** A context on `bucket`, talking to `endpoint` (moto unless a proxy is given). */
export function publisherOn(bucket: string, endpoint: string = inject('motoUrl')): TestPublisher {
  return { bucket, prefix: 'deploy', region: 'us-east-1', logger: createMemoryLogger(), s3: s3ClientFor(endpoint) };
}
