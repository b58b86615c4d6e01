// The group-name lookups against moto: a real Auto Scaling group whose instance carries the aws:autoscaling:groupName tag.
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createAsgLookup } from '../../../src/identity/asg-lookup.js';
import { createMotoGroup, type MotoGroup } from './moto-group.js';

// Unique to this file: moto is shared by every test file of the run.
const groupName = 'identity-lookup-testing-useast1';
const motoUrl = inject('motoUrl');
const region = 'us-east-1';

function stubAwsEnvironment(): void {
  vi.stubEnv('AWS_ENDPOINT_URL', motoUrl);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
}

let group: MotoGroup;

beforeAll(async () => {
  stubAwsEnvironment();
  group = await createMotoGroup(groupName, region);
});

// unstubEnvs restores the environment after each test; the lookups read it when they make their clients.
beforeEach(stubAwsEnvironment);

describe('AWS group-name lookups against moto', () => {
  it('has a group whose instance is listed by DescribeAutoScalingInstances', async () => {
    const autoScaling = new AutoScalingClient({ region });
    try {
      const answer = await autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [group.groupInstanceId] }));
      expect(answer.AutoScalingInstances?.map((instance) => instance.AutoScalingGroupName)).toEqual([groupName]);
    } finally {
      autoScaling.destroy();
    }
  });

  it('finds the group from the instance tag with DescribeTags', async () => {
    expect(await createAsgLookup({ region }).groupNameFromTags(group.groupInstanceId)).toBe(groupName);
  });

  it('finds the group with DescribeAutoScalingInstances', async () => {
    expect(await createAsgLookup({ region }).groupNameFromAutoScaling(group.groupInstanceId)).toBe(groupName);
  });

  it('answers undefined for an instance outside any group, from both APIs', async () => {
    const lookup = createAsgLookup({ region });
    expect(await lookup.groupNameFromTags(group.loneInstanceId)).toBeUndefined();
    expect(await lookup.groupNameFromAutoScaling(group.loneInstanceId)).toBeUndefined();
  });
});
