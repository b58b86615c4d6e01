// Traffic around a deploy: drain before (when asked), register after (step 10), each bounded in time.
import { StepError, describeError } from '../errors.js';
import { deregisterAll, registerAll, registeredWith } from '../lb/load-balancers.js';
import type { LoadBalancer } from '../lb/load-balancer.js';
import type { RunContext } from './context.js';

/** Deregisters from every load balancer the instance is in and waits for draining; returns those it left. */
export async function drain(context: RunContext, loadBalancers: LoadBalancer[]): Promise<LoadBalancer[]> {
  const { grains, config, logger } = context;
  const registered = await registeredWith(loadBalancers, grains.instance_id);
  if (registered.length === 0) return [];
  await deregisterAll(registered, grains.instance_id, { wait: true, timeoutMs: config.lb.wait_timeout * 1000, logger });
  return registered;
}

/** Registers with every load balancer; a failure of any kind is a failed register step (exit 1). */
export async function register(context: RunContext, loadBalancers: LoadBalancer[], waitHealthy: boolean): Promise<string> {
  const { grains, config, logger } = context;
  if (!config.lb.register) return 'disabled by lb.register';
  if (loadBalancers.length === 0) return 'no load balancer configured';
  try {
    await registerAll(loadBalancers, grains.instance_id, {
      wait: waitHealthy,
      timeoutMs: config.lb.wait_timeout * 1000,
      logger,
    });
  } catch (error) {
    throw new StepError(describeError(error), { cause: error });
  }
  const names = loadBalancers.map((loadBalancer) => loadBalancer.description).join(', ');
  return `${grains.instance_id} with ${names}${waitHealthy ? ', in service' : ''}`;
}
