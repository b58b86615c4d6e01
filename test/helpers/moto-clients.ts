// AWS SDK clients and environment pointed at the run's shared moto_server, with its dummy credentials.
import { S3Client } from '@aws-sdk/client-s3';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { inject, vi } from 'vitest';

const motoRegion = 'us-east-1';
const motoCredentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** An S3 client on moto; path-style, since moto's bucket names are not DNS names on 127.0.0.1. */
export function motoS3Client(): S3Client {
  return new S3Client({ region: motoRegion, endpoint: inject('motoUrl'), forcePathStyle: true, credentials: motoCredentials });
}

export function motoElbClient(): ElasticLoadBalancingClient {
  return new ElasticLoadBalancingClient({ region: motoRegion, endpoint: inject('motoUrl'), credentials: motoCredentials });
}

/** Points clients the code under test makes at endpoint (moto by default) with moto's credentials; unstubEnvs undoes it after each test. */
export function stubAwsEnvironment(endpoint: string = inject('motoUrl')): void {
  vi.stubEnv('AWS_ENDPOINT_URL', endpoint);
  vi.stubEnv('AWS_ACCESS_KEY_ID', motoCredentials.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', motoCredentials.secretAccessKey);
}
