// What the deploy needs from load balancing, so the pipeline can be tested with a fake.

export interface LoadBalancer {
  /** A human name for logs and messages, e.g. `classic ELB myapp-testing-useast1`. */
  readonly description: string;
  register(instanceId: string): Promise<void>;
}
