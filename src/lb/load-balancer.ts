// What the deploy needs from load balancing, so the pipeline can be tested with a fake.

export interface LoadBalancer {
  /** A human name for logs and messages, e.g. `classic ELB myapp-testing-useast1`, `target group myapp-tg`. */
  readonly description: string;
  register(instanceId: string): Promise<void>;
  deregister(instanceId: string): Promise<void>;
  /** True while the instance is a member; an instance whose deregistration is draining is no longer one. */
  isRegistered(instanceId: string): Promise<boolean>;
  /** Polls until the instance is InService / healthy; throws StepError naming the LB, the last state seen and its reason after timeoutMs. */
  waitInService(instanceId: string, timeoutMs: number): Promise<void>;
  /** Polls until the instance is gone from the LB, draining finished; throws StepError after timeoutMs. */
  waitDeregistered(instanceId: string, timeoutMs: number): Promise<void>;
}

export interface LoadBalancerOptions {
  /** Time between two health reads while waiting; default 5 s, as AWS health checks take seconds anyway. */
  pollIntervalMs?: number;
}

export const defaultPollIntervalMs = 5000;
