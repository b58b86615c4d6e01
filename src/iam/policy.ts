// The least-privilege IAM policies: the agent's (its own prefixes, load balancers and group) and, with --publisher, CI's.
import type { Config } from '../config/schema.js';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface PolicyScope {
  service: string;
  instance: string;
  /** The AWS region of the load balancers and the group, or `*`. */
  region: string;
  /** The account of the load balancers and the group, or `*`. */
  account: string;
}

const bucketArn = (config: Config) => `arn:aws:s3:::${config.bucket}`;

/** What an instance of SERVICE INSTANCE needs: read its own and the base's prefixes, know itself, join its own load balancers. */
export function agentPolicy(config: Config, scope: PolicyScope): PolicyDocument {
  const cluster = `${scope.service}-${scope.instance}-${scope.region.replaceAll('-', '')}`;
  const prefixes = [scope.service, config.base_service].map((service) => `${config.prefix}/${service}/`);
  const statements: PolicyStatement[] = [
    {
      Sid: 'ReadReleasesAndPointers',
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: prefixes.map((prefix) => `${bucketArn(config)}/${prefix}*`),
    },
    {
      // Without ListBucket S3 answers a missing key with 403 instead of 404, hiding "not promoted yet".
      Sid: 'ListOwnPrefixes',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: bucketArn(config),
      Condition: { StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
    },
    {
      // Neither call supports resource-level permissions.
      Sid: 'FindOwnAutoScalingGroup',
      Effect: 'Allow',
      Action: ['ec2:DescribeTags', 'autoscaling:DescribeAutoScalingInstances'],
      Resource: '*',
    },
  ];
  const loadBalancerArns = [
    ...(config.lb.classic_elb
      ? [`arn:aws:elasticloadbalancing:${scope.region}:${scope.account}:loadbalancer/${config.lb.elb_name || cluster}`]
      : []),
    ...config.lb.target_groups,
  ];
  if (loadBalancerArns.length > 0) {
    statements.push(
      {
        Sid: 'JoinOwnLoadBalancers',
        Effect: 'Allow',
        Action: [
          ...(config.lb.classic_elb
            ? ['elasticloadbalancing:RegisterInstancesWithLoadBalancer', 'elasticloadbalancing:DeregisterInstancesFromLoadBalancer']
            : []),
          ...(config.lb.target_groups.length > 0 ? ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'] : []),
        ],
        Resource: loadBalancerArns,
      },
      {
        // Describe calls of Elastic Load Balancing support no resource-level permissions.
        Sid: 'WatchLoadBalancerHealth',
        Effect: 'Allow',
        Action: [
          ...(config.lb.classic_elb ? ['elasticloadbalancing:DescribeInstanceHealth', 'elasticloadbalancing:DescribeLoadBalancers'] : []),
          ...(config.lb.target_groups.length > 0 ? ['elasticloadbalancing:DescribeTargetHealth'] : []),
        ],
        Resource: '*',
      },
    );
  }
  if (config.asg.lifecycle_hook !== '') {
    statements.push({
      Sid: 'CompleteOwnLaunchLifecycle',
      Effect: 'Allow',
      Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
      Resource: `arn:aws:autoscaling:${scope.region}:${scope.account}:autoScalingGroup:*:autoScalingGroupName/${cluster}`,
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** What CI needs to publish releases of SERVICE and promote them in INSTANCE. */
export function publisherPolicy(config: Config, scope: PolicyScope): PolicyDocument {
  const releases = `${bucketArn(config)}/${config.prefix}/${scope.service}/releases/*`;
  const pointer = `${bucketArn(config)}/${config.prefix}/${scope.service}/${scope.instance}/current`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        // `releases` reads every environment's pointer of the service; `promote` checks the release it names.
        Sid: 'ReadService',
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: `${bucketArn(config)}/${config.prefix}/${scope.service}/*`,
      },
      {
        // PutObject covers multipart uploads (create, upload part, complete); abort is its own action.
        Sid: 'PublishReleases',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: releases,
      },
      {
        Sid: 'PromoteInOneEnvironment',
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: pointer,
      },
      {
        Sid: 'ListReleasesAndPointers',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: bucketArn(config),
        Condition: { StringLike: { 's3:prefix': [`${config.prefix}/${scope.service}/*`] } },
      },
      {
        // promoted_by; GetCallerIdentity needs no permission, listed so the policy names every call.
        Sid: 'NamePromoter',
        Effect: 'Allow',
        Action: ['sts:GetCallerIdentity'],
        Resource: '*',
      },
    ],
  };
}
