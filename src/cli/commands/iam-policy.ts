// `pulldeploy iam-policy [SERVICE INSTANCE] [--publisher]`: the least-privilege IAM policy for this configuration.
import { requireBucket } from '../../config/load.js';
import { ExitCode, UsageError } from '../../errors.js';
import { agentPolicy, publisherPolicy } from '../../iam/policy.js';
import { agentPaths } from '../../release/layout.js';
import { readState } from '../../state/state-file.js';
import type { Command } from '../commands.js';
import { loadCommandContext } from '../context.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';

const help = `Usage: pulldeploy iam-policy [SERVICE INSTANCE] [--publisher] [--region R] [--account ID] [options]

Prints the least-privilege IAM policy (JSON) for the current configuration:
- the instance role: s3:GetObject on the service's and the base's prefixes only, s3:ListBucket limited
  to those prefixes, ec2:DescribeTags, autoscaling:DescribeAutoScalingInstances, register/deregister
  on its own classic ELB and target groups only (lb.*), lifecycle actions on its own group (asg.*);
- with --publisher, the CI role: publish releases of SERVICE, promote in INSTANCE, list them.
SERVICE INSTANCE default to the ones this instance last deployed.

Options:
      --publisher          the CI side's policy instead of the instance's
      --region R           AWS region of the load balancers and the group (default: AWS_REGION, else *)
      --account ID         AWS account of the load balancers and the group (default: *)

${commonOptionsHelp}

Examples:
  pulldeploy iam-policy myapp testing --bucket my-releases > instance-policy.json
  pulldeploy iam-policy myapp production --publisher --bucket my-releases
`;

export const iamPolicyCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('iam-policy', args, {
      publisher: { type: 'boolean' },
      region: { type: 'string' },
      account: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length !== 0 && positionals.length !== 2) {
      throw new UsageError(`expected SERVICE INSTANCE (e.g. pulldeploy iam-policy myapp testing) or nothing, got: ${positionals.join(' ')}`);
    }
    const context = await loadCommandContext(values, io);
    requireBucket(context.config);
    let [service, instance] = positionals;
    let region = (values.region as string | undefined) ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
    if (service === undefined || instance === undefined) {
      const state = await readState(agentPaths(context.root).stateFile);
      const grains = state.history.find((run) => run.grains !== undefined)?.grains;
      if (!grains) throw new UsageError('give SERVICE INSTANCE: this host has no recorded deploy to take them from');
      [service, instance] = [grains.service_name, grains.service_instance];
      region ??= grains.aws_region;
    }
    const account = (values.account as string | undefined) ?? '*';
    if (account !== '*' && !/^\d{12}$/.test(account)) throw new UsageError(`--account expects a 12-digit AWS account id, got "${account}"`);
    const scope = { service, instance, region: region ?? '*', account };
    const policy = values.publisher ? publisherPolicy(context.config, scope) : agentPolicy(context.config, scope);
    io.stdout.write(JSON.stringify(policy, null, 2) + '\n');
    return ExitCode.ok;
  },
};
