// Identity resolution end to end over HTTP: the fake metadata service, then the real AWS APIs of moto.
import { describe, expect, it } from 'vitest';
import { startMetadataServer } from '../../../scripts/servers/metadata-server.mjs';
import { IdentityError } from '../../../src/errors.js';
import { createAsgLookup } from '../../../src/identity/asg-lookup.js';
import { createMetadataClient } from '../../../src/identity/metadata.js';
import { resolveGrains } from '../../../src/identity/resolve.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { useMotoGroup } from './moto-group.js';

// Unique to this file: moto is shared by every test file of the run.
const groupName = 'identity-resolve-prod-useast1';
const region = 'us-east-1';
const group = useMotoGroup(groupName, region);

async function resolveOn(instanceId: string, asgName: string | undefined, onTestFinished: (fn: () => Promise<void>) => void) {
  const server = await startMetadataServer({ instanceId, region, asgName });
  onTestFinished(() => server.stop());
  const result = resolveGrains({
    hostname: 'ip-10-0-0-1.ec2.internal',
    domain: 'example.com',
    metadata: createMetadataClient({ endpoint: server.url }),
    lookup: (awsRegion) => createAsgLookup({ region: awsRegion }),
    logger: createMemoryLogger(),
  });
  return { server, result };
}

describe('resolveGrains over metadata and moto', () => {
  it('reads the group from metadata tags when they are enabled', async ({ onTestFinished }) => {
    const { server, result } = await resolveOn(group.groupInstanceId, groupName, onTestFinished);
    const { grains, source } = await result;
    expect(source).toBe('instance metadata tag aws:autoscaling:groupName');
    expect(grains.cluster_name).toBe(groupName);
    expect(server.requests.map((request) => request.path)).toContain('/latest/meta-data/tags/instance/aws:autoscaling:groupName');
  });

  it('falls back to DescribeTags when metadata tags are disabled', async ({ onTestFinished }) => {
    const { result } = await resolveOn(group.groupInstanceId, undefined, onTestFinished);
    const { grains, source } = await result;
    expect(source).toBe('ec2:DescribeTags');
    expect(grains).toEqual({
      service_name: 'identity-resolve',
      service_instance: 'prod',
      region: 'useast1',
      aws_region: 'us-east-1',
      instance_id: group.groupInstanceId,
      service_node: group.groupInstanceId.slice(2),
      cluster_name: groupName,
      service_group: 'identity-resolve-prod',
      hostname: `${groupName}-${group.groupInstanceId.slice(2)}.example.com`,
    });
  });

  it('fails listing every source for an instance outside any group', async ({ onTestFinished }) => {
    const { result } = await resolveOn(group.loneInstanceId, undefined, onTestFinished);
    await expect(result).rejects.toThrow(IdentityError);
    await expect(result).rejects.toThrow(
      `  - ec2:DescribeTags: no aws:autoscaling:groupName tag on ${group.loneInstanceId}\n` +
        `  - autoscaling:DescribeAutoScalingInstances: ${group.loneInstanceId} is not in an Auto Scaling group\n`,
    );
  });
});
