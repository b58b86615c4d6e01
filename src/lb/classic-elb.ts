// Classic ELB membership: RegisterInstancesWithLoadBalancer on the instance's own load balancer.
import { AwsError } from '../errors.js';
import { awsReason } from '../aws/aws-reason.js';
import { clientSettings } from '../aws/client-config.js';
import type { LoadBalancer } from './load-balancer.js';

export function createClassicElb(name: string, region: string): LoadBalancer {
  const description = `classic ELB ${name}`;
  return {
    description,
    async register(instanceId) {
      const { ElasticLoadBalancingClient, RegisterInstancesWithLoadBalancerCommand } = await import(
        '@aws-sdk/client-elastic-load-balancing'
      );
      const client = new ElasticLoadBalancingClient(clientSettings(region));
      try {
        await client.send(
          new RegisterInstancesWithLoadBalancerCommand({
            LoadBalancerName: name,
            Instances: [{ InstanceId: instanceId }],
          }),
        );
      } catch (error) {
        throw new AwsError(`cannot register ${instanceId} with ${description}: ${awsReason(error)}`, { cause: error });
      } finally {
        client.destroy();
      }
    },
  };
}

