// A classic ELB: membership with (De)RegisterInstances…, health from DescribeInstanceHealth, members from DescribeLoadBalancers.
import { clientSettings } from '../aws/client-config.js';
import { failingAs } from './aws-failure.js';
import { defaultPollIntervalMs, type LoadBalancer, type LoadBalancerOptions } from './load-balancer.js';
import { describeState, notInServiceError, pollUntilDone, stillRegisteredError, type Observation } from './wait.js';

type Sdk = typeof import('@aws-sdk/client-elastic-load-balancing');
type Client = InstanceType<Sdk['ElasticLoadBalancingClient']>;

export function createClassicElb(name: string, region: string, options: LoadBalancerOptions = {}): LoadBalancer {
  const description = `classic ELB ${name}`;
  const intervalMs = options.pollIntervalMs ?? defaultPollIntervalMs;

  // One client per operation (a whole wait shares one); the SDK is loaded only by commands that reach here.
  const withClient = <T>(what: string, use: (client: Client, sdk: Sdk) => Promise<T>): Promise<T> =>
    failingAs(what, async () => {
      const sdk = await import('@aws-sdk/client-elastic-load-balancing');
      const client = new sdk.ElasticLoadBalancingClient(clientSettings(region));
      try {
        return await use(client, sdk);
      } finally {
        client.destroy();
      }
    });

  const isListed = async (client: Client, sdk: Sdk, instanceId: string) => {
    const answer = await client.send(new sdk.DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }));
    const instances = answer.LoadBalancerDescriptions?.[0]?.Instances ?? [];
    return instances.some((instance) => instance.InstanceId === instanceId);
  };

  const readHealth = async (client: Client, sdk: Sdk, instanceId: string) => {
    const answer = await client.send(
      new sdk.DescribeInstanceHealthCommand({ LoadBalancerName: name, Instances: [{ InstanceId: instanceId }] }),
    );
    return answer.InstanceStates?.find((state) => state.InstanceId === instanceId);
  };

  /** Deregistered, or still draining: while connections drain the ELB reports `InService: Instance deregistration currently in progress`. */
  const observeDeregistration = async (client: Client, sdk: Sdk, instanceId: string): Promise<Observation> => {
    if (await isListed(client, sdk, instanceId)) return { done: false, state: 'still listed among the instances of the load balancer' };
    let health;
    try {
      health = await readHealth(client, sdk, instanceId);
    } catch (error) {
      // AWS answers InvalidInstance for an instance it no longer associates with the load balancer at all.
      if (error instanceof sdk.InvalidEndPointException) return { done: true, state: 'unknown to the load balancer' };
      throw error;
    }
    const state = health ? describeState(health.State, health.ReasonCode, health.Description) : 'not reported';
    return { done: health?.State !== 'InService', state };
  };

  return {
    description,
    register: (instanceId) =>
      withClient(`register ${instanceId} with ${description}`, async (client, sdk) => {
        await client.send(
          new sdk.RegisterInstancesWithLoadBalancerCommand({ LoadBalancerName: name, Instances: [{ InstanceId: instanceId }] }),
        );
      }),
    deregister: (instanceId) =>
      withClient(`deregister ${instanceId} from ${description}`, async (client, sdk) => {
        await client.send(
          new sdk.DeregisterInstancesFromLoadBalancerCommand({ LoadBalancerName: name, Instances: [{ InstanceId: instanceId }] }),
        );
      }),
    isRegistered: (instanceId) =>
      withClient(`list the instances of ${description}`, (client, sdk) => isListed(client, sdk, instanceId)),
    waitInService: (instanceId, timeoutMs) =>
      withClient(`read the health of ${instanceId} on ${description}`, async (client, sdk) => {
        await pollUntilDone(
          async () => {
            const health = await readHealth(client, sdk, instanceId);
            if (!health) return { done: false, state: 'not reported by DescribeInstanceHealth' };
            return { done: health.State === 'InService', state: describeState(health.State, health.ReasonCode, health.Description) };
          },
          { timeoutMs, intervalMs },
          (last) => notInServiceError(instanceId, description, 'InService', timeoutMs, last),
        );
      }),
    waitDeregistered: (instanceId, timeoutMs) =>
      withClient(`follow the deregistration of ${instanceId} from ${description}`, async (client, sdk) => {
        await pollUntilDone(
          () => observeDeregistration(client, sdk, instanceId),
          { timeoutMs, intervalMs },
          (last) => stillRegisteredError(instanceId, description, timeoutMs, last),
        );
      }),
  };
}
