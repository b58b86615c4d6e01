// Test fixture: an Auto Scaling group of one instance in moto, plus an instance outside any group.
import { AutoScalingClient, CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { beforeAll, beforeEach } from 'vitest';
import { stubAwsEnvironment } from '../../helpers/moto-clients.js';

export interface MotoGroup {
  groupInstanceId: string;
  loneInstanceId: string;
}

/**
 * Registers the file's hooks: the group is created once, before its tests (its ids are filled in then), and the
 * AWS SDK points at moto before every test. groupName must be unique in the run: moto is shared by every test file.
 */
export function useMotoGroup(groupName: string, region: string): MotoGroup {
  const group: MotoGroup = { groupInstanceId: '', loneInstanceId: '' };
  beforeAll(async () => {
    stubAwsEnvironment();
    Object.assign(group, await createMotoGroup(groupName, region));
  });
  // unstubEnvs restores the environment after each test; the lookups read it when they make their clients.
  beforeEach(() => stubAwsEnvironment());
  return group;
}

/** Needs AWS_ENDPOINT_URL and credentials in the environment. */
async function createMotoGroup(groupName: string, region: string): Promise<MotoGroup> {
  const ec2 = new EC2Client({ region });
  const autoScaling = new AutoScalingClient({ region });
  try {
    const images = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    const imageId = images.Images?.[0]?.ImageId;
    if (!imageId) throw new Error('moto offers no AMI to launch');
    const template = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: `${groupName}-template`,
        LaunchTemplateData: { ImageId: imageId, InstanceType: 't3.micro' },
      }),
    );
    await autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: groupName,
        LaunchTemplate: { LaunchTemplateId: template.LaunchTemplate?.LaunchTemplateId, Version: '$Latest' },
        AvailabilityZones: [`${region}a`],
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
      }),
    );
    const groups = await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
    const groupInstanceId = groups.AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId;
    const lone = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
    const loneInstanceId = lone.Instances?.[0]?.InstanceId;
    if (!groupInstanceId || !loneInstanceId) throw new Error(`moto launched no instance for ${groupName}`);
    return { groupInstanceId, loneInstanceId };
  } finally {
    ec2.destroy();
    autoScaling.destroy();
  }
}
