// The instance's load balancers from the configuration, and registering or deregistering with all of them at once.
import { StepError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { Grains } from '../identity/grains.js';
import { formatDuration } from '../log/format-duration.js';
import type { Logger } from '../log/logger.js';
import { createClassicElb } from './classic-elb.js';
import type { LoadBalancer, LoadBalancerOptions } from './load-balancer.js';
import { createTargetGroup } from './target-group.js';

/** The classic ELB (lb.elb_name, else the cluster name) when lb.classic_elb, then one per lb.target_groups ARN, in the instance's region. */
export function loadBalancersFor(config: Config, grains: Grains, options: LoadBalancerOptions = {}): LoadBalancer[] {
  const loadBalancers: LoadBalancer[] = [];
  if (config.lb.classic_elb) {
    loadBalancers.push(createClassicElb(config.lb.elb_name || grains.cluster_name, grains.aws_region, options));
  }
  for (const arn of config.lb.target_groups) loadBalancers.push(createTargetGroup(arn, grains.aws_region, options));
  return loadBalancers;
}

export interface MembershipOptions {
  /** Wait for InService/healthy after registering, or for draining to finish after deregistering. */
  wait: boolean;
  timeoutMs: number;
  logger: Logger;
}

/** Registers with every load balancer in parallel, each then waited on when asked; every one is tried even when another fails. */
export async function registerAll(loadBalancers: readonly LoadBalancer[], instanceId: string, options: MembershipOptions): Promise<void> {
  await forEachInParallel(loadBalancers, `registering ${instanceId}`, async (loadBalancer) => {
    await timed(options.logger, loadBalancer, instanceId, 'registered with', () => loadBalancer.register(instanceId));
    if (!options.wait) return;
    await timed(options.logger, loadBalancer, instanceId, 'in service on', () =>
      loadBalancer.waitInService(instanceId, options.timeoutMs),
    );
  });
}

/** Deregisters from every load balancer in parallel, each then waited on until drained when asked. */
export async function deregisterAll(loadBalancers: readonly LoadBalancer[], instanceId: string, options: MembershipOptions): Promise<void> {
  await forEachInParallel(loadBalancers, `deregistering ${instanceId}`, async (loadBalancer) => {
    await timed(options.logger, loadBalancer, instanceId, 'deregistered from', () => loadBalancer.deregister(instanceId));
    if (!options.wait) return;
    await timed(options.logger, loadBalancer, instanceId, 'drained from', () =>
      loadBalancer.waitDeregistered(instanceId, options.timeoutMs),
    );
  });
}

/** The load balancers the instance is registered with, in the order given. */
export async function registeredWith(loadBalancers: readonly LoadBalancer[], instanceId: string): Promise<LoadBalancer[]> {
  const registered = await Promise.all(loadBalancers.map((loadBalancer) => loadBalancer.isRegistered(instanceId)));
  return loadBalancers.filter((_, index) => registered[index]);
}

type Outcome = 'registered with' | 'in service on' | 'deregistered from' | 'drained from';

/** Logs `i-0abc registered with classic ELB myapp-testing-useast1 in 120ms` once the action succeeds. */
async function timed(logger: Logger, loadBalancer: LoadBalancer, instanceId: string, outcome: Outcome, action: () => Promise<void>) {
  const started = performance.now();
  await action();
  const durationMs = Math.round(performance.now() - started);
  logger.info(`${instanceId} ${outcome} ${loadBalancer.description} in ${formatDuration(durationMs)}`, {
    load_balancer: loadBalancer.description,
    instance_id: instanceId,
    duration_ms: durationMs,
  });
}

/** One failure is thrown as it is; several become one StepError listing each (every message names its load balancer). */
async function forEachInParallel(
  loadBalancers: readonly LoadBalancer[],
  what: string,
  action: (loadBalancer: LoadBalancer) => Promise<void>,
): Promise<void> {
  const settled = await Promise.allSettled(loadBalancers.map(action));
  const failures = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length === 0) return;
  if (failures.length === 1) throw failures[0];
  const lines = failures.map((failure) => `  - ${failure instanceof Error ? failure.message : String(failure)}`);
  throw new StepError(`${what} failed on ${failures.length} of ${loadBalancers.length} load balancers:\n${lines.join('\n')}`, {
    cause: new AggregateError(failures),
  });
}
