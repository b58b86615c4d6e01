// The instance's Auto Scaling group name from the AWS APIs: ec2:DescribeTags, then autoscaling:DescribeAutoScalingInstances.
import { clientSettings } from '../aws/client-config.js';

export const groupNameTagKey = 'aws:autoscaling:groupName';

/** Answers undefined when the API knows of no group for the instance; throws when the API call fails. */
export interface GroupNameLookup {
  groupNameFromTags(instanceId: string): Promise<string | undefined>;
  groupNameFromAutoScaling(instanceId: string): Promise<string | undefined>;
}

export interface AsgLookupOptions {
  /** The AWS region with dashes: `us-east-1`. */
  region: string;
}

export function createAsgLookup(options: AsgLookupOptions): GroupNameLookup {
  // Each method runs at most once per identity resolution, so each makes its own client and closes it.
  // The SDK modules are imported here, not at the top, so commands that never reach this path don't load them.
  return {
    groupNameFromTags: async (instanceId) => {
      const { EC2Client, DescribeTagsCommand } = await import('@aws-sdk/client-ec2');
      const client = new EC2Client(clientSettings(options.region));
      try {
        const answer = await client.send(
          new DescribeTagsCommand({
            Filters: [
              { Name: 'resource-id', Values: [instanceId] },
              { Name: 'key', Values: [groupNameTagKey] },
            ],
          }),
        );
        return answer.Tags?.find((tag) => tag.Key === groupNameTagKey)?.Value || undefined;
      } finally {
        client.destroy();
      }
    },
    groupNameFromAutoScaling: async (instanceId) => {
      const { AutoScalingClient, DescribeAutoScalingInstancesCommand } = await import('@aws-sdk/client-auto-scaling');
      const client = new AutoScalingClient(clientSettings(options.region));
      try {
        const answer = await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
        return answer.AutoScalingInstances?.find((instance) => instance.InstanceId === instanceId)?.AutoScalingGroupName || undefined;
      } finally {
        client.destroy();
      }
    },
  };
}
