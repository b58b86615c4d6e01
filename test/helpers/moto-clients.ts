// AWS SDK clients and environment pointed at the run's shared moto_server, with its dummy credentials.
import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { inject, vi } from 'vitest';

const motoRegion = 'us-east-1';
const motoCredentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** An S3 client on moto; path-style, since moto's bucket names are not DNS names on 127.0.0.1. */
export function motoS3Client(): S3Client {
  return new S3Client({ region: motoRegion, endpoint: inject('motoUrl'), forcePathStyle: true, credentials: motoCredentials });
}

export function motoEc2Client(): EC2Client {
  return new EC2Client({ region: motoRegion, endpoint: inject('motoUrl'), credentials: motoCredentials });
}

/** A running instance in moto, so load balancers report its health as they would a real one's. */
export async function runMotoInstance(): Promise<string> {
  const ec2 = motoEc2Client();
  try {
    const images = await ec2.send(new DescribeImagesCommand({}));
    const imageId = images.Images?.[0]?.ImageId;
    if (!imageId) throw new Error('moto offers no AMI to start an instance from');
    const run = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
    const instanceId = run.Instances?.[0]?.InstanceId;
    if (!instanceId) throw new Error('moto started no instance');
    return instanceId;
  } finally {
    ec2.destroy();
  }
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
