// The AWS group-name lookups against mocked SDK clients: the requests they send and how they read the answers.
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createAsgLookup } from '../../../src/identity/asg-lookup.js';

const ec2 = mockClient(EC2Client);
const autoScaling = mockClient(AutoScalingClient);

afterEach(() => {
  ec2.reset();
  autoScaling.reset();
});

describe('groupNameFromTags', () => {
  it('asks DescribeTags for the group tag of this one instance, in the given region', async () => {
    ec2.on(DescribeTagsCommand).resolves({
      Tags: [{ Key: 'aws:autoscaling:groupName', Value: 'myapp-testing-euwest1', ResourceId: 'i-0abc898900' }],
    });
    const name = await createAsgLookup({ region: 'eu-west-1' }).groupNameFromTags('i-0abc898900');
    expect(name).toBe('myapp-testing-euwest1');
    const calls = ec2.commandCalls(DescribeTagsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      Filters: [
        { Name: 'resource-id', Values: ['i-0abc898900'] },
        { Name: 'key', Values: ['aws:autoscaling:groupName'] },
      ],
    });
    expect(await (calls[0]?.thisValue as EC2Client).config.region()).toBe('eu-west-1');
  });

  it('answers undefined when the instance has no such tag', async () => {
    ec2.on(DescribeTagsCommand).resolves({ Tags: [] });
    expect(await createAsgLookup({ region: 'us-east-1' }).groupNameFromTags('i-0abc898900')).toBeUndefined();
  });

  it('lets an API failure through for resolution to report', async () => {
    ec2.on(DescribeTagsCommand).rejects(new Error('You are not authorized to perform this operation.'));
    await expect(createAsgLookup({ region: 'us-east-1' }).groupNameFromTags('i-0abc898900')).rejects.toThrow(
      'You are not authorized to perform this operation.',
    );
  });
});

describe('groupNameFromAutoScaling', () => {
  it('asks DescribeAutoScalingInstances about this one instance', async () => {
    autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [
        {
          InstanceId: 'i-0abc898900',
          AutoScalingGroupName: 'myapp-testing-useast1',
          AvailabilityZone: 'us-east-1a',
          LifecycleState: 'InService',
          HealthStatus: 'HEALTHY',
          ProtectedFromScaleIn: false,
        },
      ],
    });
    const name = await createAsgLookup({ region: 'us-east-1' }).groupNameFromAutoScaling('i-0abc898900');
    expect(name).toBe('myapp-testing-useast1');
    expect(autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-0abc898900'],
    });
  });

  it('answers undefined when the instance is in no group', async () => {
    autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    expect(await createAsgLookup({ region: 'us-east-1' }).groupNameFromAutoScaling('i-0abc898900')).toBeUndefined();
  });

  it('lets an API failure through for resolution to report', async () => {
    autoScaling.on(DescribeAutoScalingInstancesCommand).rejects(new Error('Rate exceeded'));
    await expect(createAsgLookup({ region: 'us-east-1' }).groupNameFromAutoScaling('i-0abc898900')).rejects.toThrow(
      'Rate exceeded',
    );
  });
});
