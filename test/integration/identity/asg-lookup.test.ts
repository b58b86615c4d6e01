// The group-name lookups against moto: a real Auto Scaling group whose instance carries the aws:autoscaling:groupName tag.
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { describe, expect, it } from 'vitest';
import { createAsgLookup } from '../../../src/identity/asg-lookup.js';
import { useMotoGroup } from './moto-group.js';

// Unique to this file: moto is shared by every test file of the run.
const groupName = 'identity-lookup-testing-useast1';
const region = 'us-east-1';
const group = useMotoGroup(groupName, region);

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
