// Every AWS call in the code is allowed by the generated policy of its side; the list is read from the source, not kept by hand.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../../src/config/schema.js';
import { agentPolicy, publisherPolicy, type PolicyDocument } from '../../../src/iam/policy.js';

const repo = join(import.meta.dirname, '..', '..', '..');
const iamPrefix: Record<string, string> = {
  s3: 's3',
  ec2: 'ec2',
  'auto-scaling': 'autoscaling',
  'elastic-load-balancing': 'elasticloadbalancing',
  'elastic-load-balancing-v2': 'elasticloadbalancing',
  sts: 'sts',
};
// S3 API calls whose IAM action has another name.
const s3Actions: Record<string, string> = {
  HeadObject: 'GetObject',
  ListObjectsV2: 'ListBucket',
  CreateMultipartUpload: 'PutObject',
  UploadPart: 'PutObject',
  CompleteMultipartUpload: 'PutObject',
};
const publisherFiles = /^src\/(publish\/|cli\/commands\/(pack|publish|promote|releases|keygen)\.ts$)/;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : Promise.resolve([join(dir, entry.name)]))),
  );
  return nested.flat().filter((file) => file.endsWith('.ts'));
}

/** `{ file, action }` for every SDK command constructed in src/, with the IAM action it needs. */
async function awsCalls(): Promise<{ file: string; action: string }[]> {
  const calls: { file: string; action: string }[] = [];
  for (const path of await sourceFiles(join(repo, 'src'))) {
    const text = await readFile(path, 'utf8');
    const file = relative(repo, path);
    // Each command belongs to the client imported nearest before it in the file.
    const clients = [...text.matchAll(/@aws-sdk\/client-([a-z0-9-]+)/g)].map((m) => ({ at: m.index, name: m[1]! }));
    for (const match of text.matchAll(/new (?:\w+\.)?([A-Z]\w*)Command\(/g)) {
      const client = clients.filter((c) => c.at < match.index).at(-1);
      expect(client, `${file}: ${match[1]}Command with no client imported before it`).toBeDefined();
      const prefix = iamPrefix[client!.name];
      expect(prefix, `${file}: unknown client ${client!.name}`).toBeDefined();
      const command = match[1]!;
      calls.push({ file, action: `${prefix}:${prefix === 's3' ? (s3Actions[command] ?? command) : command}` });
    }
  }
  return calls;
}

const allowed = (policy: PolicyDocument) => new Set(policy.Statement.flatMap((statement) => statement.Action));
const everything: Config = {
  ...defaultConfig(),
  bucket: 'my-releases',
  lb: { ...defaultConfig().lb, target_groups: ['arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/myapp/0123456789abcdef'] },
  asg: { lifecycle_hook: 'launch-wait', heartbeat_interval: 60 },
};
const scope = { service: 'myapp', instance: 'testing', region: 'us-east-1', account: '123456789012' };

describe('iam policies', () => {
  it('allow every AWS call of the agent, and of the publisher, found in the source', async () => {
    const calls = await awsCalls();
    const agentCalls = calls.filter((call) => !publisherFiles.test(call.file));
    const publisherCalls = calls.filter((call) => publisherFiles.test(call.file));
    // The scan itself must see the calls we know are there, or it proves nothing.
    expect(new Set(agentCalls.map((call) => call.action))).toEqual(
      new Set([
        's3:GetObject',
        'ec2:DescribeTags',
        'autoscaling:DescribeAutoScalingInstances',
        'autoscaling:CompleteLifecycleAction',
        'autoscaling:RecordLifecycleActionHeartbeat',
        'elasticloadbalancing:RegisterInstancesWithLoadBalancer',
        'elasticloadbalancing:DeregisterInstancesFromLoadBalancer',
        'elasticloadbalancing:DescribeInstanceHealth',
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:RegisterTargets',
        'elasticloadbalancing:DeregisterTargets',
        'elasticloadbalancing:DescribeTargetHealth',
      ]),
    );
    expect(publisherCalls.map((call) => call.action)).toContain('s3:PutObject');
    const agent = allowed(agentPolicy(everything, scope));
    for (const call of agentCalls) expect(agent.has(call.action), `${call.action} (${call.file})`).toBe(true);
    const publisher = allowed(publisherPolicy(everything, scope));
    for (const call of publisherCalls) expect(publisher.has(call.action), `${call.action} (${call.file})`).toBe(true);
  });

  it('limits the agent to its own prefixes, load balancers and group', () => {
    const policy = agentPolicy(everything, scope);
    const statement = (sid: string) => policy.Statement.find((s) => s.Sid === sid);
    expect(statement('ReadReleasesAndPointers')?.Resource).toEqual([
      'arn:aws:s3:::my-releases/deploy/myapp/*',
      'arn:aws:s3:::my-releases/deploy/base/*',
    ]);
    expect(statement('ListOwnPrefixes')?.Condition).toEqual({ StringLike: { 's3:prefix': ['deploy/myapp/*', 'deploy/base/*'] } });
    expect(statement('JoinOwnLoadBalancers')?.Resource).toEqual([
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/myapp-testing-useast1',
      everything.lb.target_groups[0],
    ]);
    expect(statement('CompleteOwnLaunchLifecycle')?.Resource).toBe(
      'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/myapp-testing-useast1',
    );
    expect(policy.Statement.flatMap((s) => s.Action).some((action) => action.startsWith('s3:Put'))).toBe(false);
  });

  it('grants nothing for load balancers or lifecycle that are not configured', () => {
    const policy = agentPolicy({ ...everything, lb: { ...everything.lb, classic_elb: false, target_groups: [] }, asg: { lifecycle_hook: '', heartbeat_interval: 60 } }, scope);
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['ReadReleasesAndPointers', 'ListOwnPrefixes', 'FindOwnAutoScalingGroup']);
  });

  it('lets the publisher write only its releases and the one pointer', () => {
    const policy = publisherPolicy(everything, scope);
    const writes = policy.Statement.filter((s) => s.Action.includes('s3:PutObject')).flatMap((s) => [s.Resource].flat());
    expect(writes).toEqual(['arn:aws:s3:::my-releases/deploy/myapp/releases/*', 'arn:aws:s3:::my-releases/deploy/myapp/testing/current']);
  });
});
