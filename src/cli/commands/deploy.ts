// `pulldeploy [deploy] [SERVICE INSTANCE]`: converge this instance on the releases marked current, now.
import { requireBucket } from '../../config/load.js';
import { deploy } from '../../deploy.js';
import { ExitCode, UsageError } from '../../errors.js';
import { formatPlan, planDeploy } from '../../plan.js';
import { identifyInstance } from '../../steps/identify.js';
import type { Command } from '../commands.js';
import { loadCommandContext } from '../context.js';
import { commonOptionsHelp, parseCommandLine, parseSeconds } from '../options.js';
import { createRealPorts } from '../real-ports.js';

const help = `Usage: pulldeploy [deploy] [SERVICE INSTANCE] [options]

Deploys the base and service releases that the S3 pointers mark current: lock, identify, resolve,
fetch (verified), stage, pre-release hooks, apply, switch current, post-release hooks, register with
the load balancers, record state, prune old releases. Always runs every step, reusing releases already
present: it is the explicit "converge now". On a failure before the switch, current is left as it was.

SERVICE INSTANCE name the service and its environment (e.g. myapp testing); without them they come
from the hostname or the instance's Auto Scaling group name (<service>-<environment>-<region>).

Options:
      --lock-timeout S     seconds to wait for another run's lock before exiting 5 (config: lock_timeout, default 300)
      --drain              when the instance is registered, deregister and wait for draining first, then
                           register again and wait until healthy (config: lb.drain_on_redeploy)
      --dry-run            print what would be fetched, staged, run, switched and registered; change nothing

${commonOptionsHelp}

Examples:
  pulldeploy myapp testing -v          first boot, from cloud-init
  pulldeploy                           converge on what the pointers say, identity from the ASG
  pulldeploy --drain                   redeploy a serving instance without dropping requests
  pulldeploy --dry-run                 show the plan
`;

export const deployCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('deploy', args, {
      'lock-timeout': { type: 'string' },
      drain: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length !== 0 && positionals.length !== 2) {
      throw new UsageError(
        `expected SERVICE INSTANCE (e.g. pulldeploy myapp testing) or nothing, got ${positionals.length} argument(s): ${positionals.join(' ')}`,
      );
    }
    const lockTimeout = parseSeconds('lock-timeout', values['lock-timeout'] as string | undefined);
    const context = await loadCommandContext(values, io, { lock_timeout: lockTimeout });
    const [service, instance] = positionals;
    const ports = createRealPorts(io, context);
    const drain = values.drain === true;
    if (values['dry-run']) {
      requireBucket(context.config);
      const { grains } = await identifyInstance(context.config, ports, { service, instance });
      io.stdout.write(formatPlan(await planDeploy(context.config, context.root, grains, drain, ports)));
      return ExitCode.ok;
    }
    const run = await deploy(
      {
        root: context.root,
        config: context.config,
        command: 'deploy',
        waitForLock: true,
        drain,
        ...(service && instance ? { service, instance } : {}),
      },
      ports,
    );
    const versions = run.versions;
    context.logger.info(
      `deployed ${run.grains?.service_name ?? 'service'} ${versions.service?.current ?? '?'} with base ${versions.base?.current ?? '?'}`,
    );
    return ExitCode.ok;
  },
};
