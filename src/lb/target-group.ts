// An ALB/NLB target group: membership with (De)RegisterTargets, membership and health from DescribeTargetHealth.
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UsageError } from '../errors.js';
import { clientSettings } from '../aws/client-config.js';
import { failingAs } from './aws-failure.js';
import { defaultPollIntervalMs, type LoadBalancer, type LoadBalancerOptions } from './load-balancer.js';
import { describeState, notInServiceError, pollUntilDone, stillRegisteredError } from './wait.js';

type Sdk = typeof import('@aws-sdk/client-elastic-load-balancing-v2');
type Client = InstanceType<Sdk['ElasticLoadBalancingV2Client']>;

const targetGroupArn = /^arn:aws[a-z-]*:elasticloadbalancing:[^:]*:[^:]*:targetgroup\/([^/]+)\/[^/]+$/;

/** `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/myapp-tg/6d0ecf831eec9f09` → `myapp-tg`. */
export function targetGroupName(arn: string): string {
  const name = targetGroupArn.exec(arn)?.[1];
  if (name === undefined) {
    throw new UsageError(
      `lb.target_groups: "${arn}" is not a target group ARN; expected arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`,
    );
  }
  return name;
}

/** Where the instance stands in the target group, from its DescribeTargetHealth entries. */
export interface Membership {
  kind: 'registered' | 'draining' | 'absent';
  healthy: boolean;
  state: string;
}

export function membershipOf(entries: readonly TargetHealthDescription[]): Membership {
  // AWS answers a target that is not (or no longer) registered with an entry whose reason is Target.NotRegistered.
  const present = entries.filter((entry) => entry.TargetHealth?.Reason !== 'Target.NotRegistered');
  const shown = present[0] ?? entries[0];
  const state = shown
    ? describeState(shown.TargetHealth?.State, shown.TargetHealth?.Reason, shown.TargetHealth?.Description)
    : 'not reported by DescribeTargetHealth';
  const healthy = present.some((entry) => entry.TargetHealth?.State === 'healthy');
  if (present.length === 0) return { kind: 'absent', healthy, state };
  if (present.every((entry) => entry.TargetHealth?.State === 'draining')) return { kind: 'draining', healthy, state };
  return { kind: 'registered', healthy, state };
}

export function createTargetGroup(arn: string, region: string, options: LoadBalancerOptions = {}): LoadBalancer {
  const description = `target group ${targetGroupName(arn)}`;
  const intervalMs = options.pollIntervalMs ?? defaultPollIntervalMs;

  // One client per operation (a whole wait shares one); the SDK is loaded only by commands that reach here.
  const withClient = <T>(what: string, use: (client: Client, sdk: Sdk) => Promise<T>): Promise<T> =>
    failingAs(what, async () => {
      const sdk = await import('@aws-sdk/client-elastic-load-balancing-v2');
      const client = new sdk.ElasticLoadBalancingV2Client(clientSettings(region));
      try {
        return await use(client, sdk);
      } finally {
        client.destroy();
      }
    });

  // Targets are registered without a port, so on the target group's own port; the health read asks for the same.
  const readMembership = async (client: Client, sdk: Sdk, instanceId: string) => {
    const answer = await client.send(new sdk.DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: instanceId }] }));
    return membershipOf((answer.TargetHealthDescriptions ?? []).filter((entry) => entry.Target?.Id === instanceId));
  };

  return {
    description,
    register: (instanceId) =>
      withClient(`register ${instanceId} with ${description}`, async (client, sdk) => {
        await client.send(new sdk.RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: instanceId }] }));
      }),
    deregister: (instanceId) =>
      withClient(`deregister ${instanceId} from ${description}`, async (client, sdk) => {
        await client.send(new sdk.DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: instanceId }] }));
      }),
    isRegistered: (instanceId) =>
      withClient(`read the health of ${instanceId} in ${description}`, async (client, sdk) => {
        return (await readMembership(client, sdk, instanceId)).kind === 'registered';
      }),
    waitInService: (instanceId, timeoutMs) =>
      withClient(`read the health of ${instanceId} in ${description}`, async (client, sdk) => {
        await pollUntilDone(
          async () => {
            const membership = await readMembership(client, sdk, instanceId);
            return { done: membership.healthy, state: membership.state };
          },
          { timeoutMs, intervalMs },
          (last) => notInServiceError(instanceId, description, 'healthy', timeoutMs, last),
        );
      }),
    waitDeregistered: (instanceId, timeoutMs) =>
      withClient(`follow the deregistration of ${instanceId} from ${description}`, async (client, sdk) => {
        await pollUntilDone(
          async () => {
            const membership = await readMembership(client, sdk, instanceId);
            return { done: membership.kind === 'absent', state: membership.state };
          },
          { timeoutMs, intervalMs },
          (last) => stillRegisteredError(instanceId, description, timeoutMs, last),
        );
      }),
  };
}
