// `pulldeploy grains`: the identity this instance derives (DESIGN.md §1), without deploying anything.
import { ExitCode, UsageError } from '../../errors.js';
import { grainNames } from '../../identity/grains.js';
import { identifyInstance } from '../../steps/identify.js';
import type { Command } from '../commands.js';
import { loadCommandContext } from '../context.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';
import { createRealPorts } from '../real-ports.js';

const help = `Usage: pulldeploy grains [SERVICE INSTANCE] [--json] [options]

Prints the grains this instance derives: from SERVICE INSTANCE if given, else the hostname, else
instance metadata (IMDSv2), ec2:DescribeTags, autoscaling:DescribeAutoScalingInstances.
With --json, prints them as one JSON object on stdout.

${commonOptionsHelp}
`;

export const grainsCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('grains', args, {});
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length !== 0 && positionals.length !== 2) {
      throw new UsageError(`expected SERVICE INSTANCE or nothing, got: ${positionals.join(' ')}`);
    }
    const context = await loadCommandContext(values, io);
    const ports = createRealPorts(io, context);
    const [service, instance] = positionals;
    const { grains, source } = await identifyInstance(context.config, ports, { service, instance });
    if (values.json) {
      io.stdout.write(JSON.stringify(grains) + '\n');
    } else {
      const width = Math.max(...grainNames.map((name) => name.length));
      io.stdout.write(grainNames.map((name) => `${name.padEnd(width)}  ${grains[name]}`).join('\n') + `\n(from ${source})\n`);
    }
    return ExitCode.ok;
  },
};
