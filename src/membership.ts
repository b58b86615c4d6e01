// `register` and `deregister` by hand: this instance in or out of its load balancers, with the same waits as a deploy.
import type { Config } from './config/schema.js';
import { UsageError } from './errors.js';
import { deregisterAll } from './lb/load-balancers.js';
import { hostLayout } from './release/layout.js';
import type { RunRecord } from './state/state-file.js';
import type { Ports, RunContext } from './steps/context.js';
import { recordedGrains, recordedRun } from './steps/recorded-run.js';
import { register } from './steps/traffic.js';

export async function changeMembership(
  action: 'register' | 'deregister',
  request: { root: string; config: Config; wait: boolean },
  ports: Ports,
): Promise<RunRecord> {
  const { config } = request;
  return recordedRun({
    command: action,
    root: request.root,
    config,
    ports,
    waitForLock: true,
    body: async ({ steps, state, notes }) => {
      const grains = recordedGrains(state, 'deploy first, so it knows which load balancers are its own');
      notes.grains = grains;
      const loadBalancers = ports.loadBalancers(config, grains);
      if (loadBalancers.length === 0) throw new UsageError('no load balancer configured: set lb.classic_elb or lb.target_groups');
      const layout = hostLayout(request.root, grains.service_name, config.base_service);
      const context: RunContext = { config, ports, logger: ports.logger, steps, grains, layout };
      if (action === 'register') {
        // By hand, registering is the point: lb.register only governs what a deploy does.
        const forced = { ...context, config: { ...config, lb: { ...config.lb, register: true } } };
        await steps.run('register', () => register(forced, loadBalancers, request.wait), (done) => done);
      } else {
        await steps.run(
          'deregister',
          async () => {
            await deregisterAll(loadBalancers, grains.instance_id, {
              wait: request.wait,
              timeoutMs: config.lb.wait_timeout * 1000,
              logger: ports.logger,
            });
            return `${grains.instance_id} from ${loadBalancers.map((lb) => lb.description).join(', ')}`;
          },
          (done) => done,
        );
      }
    },
  });
}
