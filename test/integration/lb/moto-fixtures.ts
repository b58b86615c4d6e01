// Test fixtures made directly in moto (not through the proxy): instances, a classic ELB, a VPC with a target group.
import { randomBytes } from 'node:crypto';
import { CreateVpcCommand, DescribeImagesCommand, EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateLoadBalancerCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { CreateTargetGroupCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { stubAwsEnvironment } from '../../helpers/moto-clients.js';
import { startRecordingProxy, type ProxyAnswer, type RecordedRequest, type RecordingProxy } from '../../helpers/recording-proxy.js';

export const region = 'us-east-1';

/** moto is shared by every test file of the run: every name a test creates carries this. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

function motoClientConfig() {
  return { region, endpoint: inject('motoUrl'), credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

async function withEc2<T>(use: (ec2: EC2Client) => Promise<T>): Promise<T> {
  const ec2 = new EC2Client(motoClientConfig());
  try {
    return await use(ec2);
  } finally {
    ec2.destroy();
  }
}

// Listing moto's images takes a second, so each test file does it once.
let imageId: Promise<string | undefined> | undefined;

/** A running instance moto knows, so health checks see a real EC2 state. */
export function launchInstance(): Promise<string> {
  return withEc2(async (ec2) => {
    imageId ??= ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] })).then((images) => images.Images?.[0]?.ImageId);
    const launched = await ec2.send(new RunInstancesCommand({ ImageId: await imageId, MinCount: 1, MaxCount: 1 }));
    const instanceId = launched.Instances?.[0]?.InstanceId;
    if (!instanceId) throw new Error('moto launched no instance');
    return instanceId;
  });
}

/** moto reports a stopped instance OutOfService on a classic ELB and `unused (Target.InvalidState)` in a target group. */
export function stopInstance(instanceId: string): Promise<void> {
  return withEc2(async (ec2) => {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
  });
}

export async function createMotoClassicElb(name: string): Promise<void> {
  const elb = new ElasticLoadBalancingClient(motoClientConfig());
  try {
    await elb.send(
      new CreateLoadBalancerCommand({
        LoadBalancerName: name,
        Listeners: [{ Protocol: 'HTTP', LoadBalancerPort: 80, InstancePort: 80 }],
        AvailabilityZones: [`${region}a`],
      }),
    );
  } finally {
    elb.destroy();
  }
}

/** A target group of instances in a VPC of its own; answers its ARN. */
export async function createMotoTargetGroup(name: string): Promise<string> {
  const vpcId = await withEc2(async (ec2) => (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc?.VpcId);
  const elbv2 = new ElasticLoadBalancingV2Client(motoClientConfig());
  try {
    const created = await elbv2.send(
      new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 80, VpcId: vpcId, TargetType: 'instance' }),
    );
    const arn = created.TargetGroups?.[0]?.TargetGroupArn;
    if (!arn) throw new Error(`moto created no target group ${name}`);
    return arn;
  } finally {
    elbv2.destroy();
  }
}

/** moto behind a recording proxy for every test of the file, with the AWS environment pointed at the proxy. */
export function useProxiedMoto(): { proxy: RecordingProxy; answer: ((request: RecordedRequest) => ProxyAnswer | undefined) | undefined } {
  const holder = {} as { proxy: RecordingProxy; answer: ((request: RecordedRequest) => ProxyAnswer | undefined) | undefined };
  beforeAll(async () => {
    holder.proxy = await startRecordingProxy({ target: inject('motoUrl'), answer: (request) => holder.answer?.(request) });
  });
  afterAll(() => holder.proxy.stop());
  beforeEach(() => {
    holder.proxy.clear();
    holder.answer = undefined;
    stubAwsEnvironment(holder.proxy.url);
  });
  return holder;
}
