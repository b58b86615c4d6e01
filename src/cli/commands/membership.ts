// `pulldeploy register` and `pulldeploy deregister`: load balancer membership by hand.
import { ExitCode, UsageError } from '../../errors.js';
import { changeMembership } from '../../membership.js';
import type { Command } from '../commands.js';
import { loadCommandContext } from '../context.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';
import { createRealPorts } from '../real-ports.js';

const helpText = {
  register: `Usage: pulldeploy register [--no-wait] [options]

Registers this instance with its load balancers (the classic ELB named by lb.elb_name, default the
cluster name, and lb.target_groups), then waits until each reports it InService/healthy, up to
lb.wait_timeout seconds.`,
  deregister: `Usage: pulldeploy deregister [--no-wait] [options]

Deregisters this instance from its load balancers, then waits until deregistration and connection
draining have finished, up to lb.wait_timeout seconds.`,
};

function membershipCommand(action: 'register' | 'deregister'): Command {
  return {
    async run(args, io) {
      const { values, positionals } = parseCommandLine(action, args, { 'no-wait': { type: 'boolean' } });
      if (values.help) {
        io.stdout.write(`${helpText[action]}

Options:
      --no-wait            return once the request is accepted

${commonOptionsHelp}

Example:
  pulldeploy ${action} -v
`);
        return ExitCode.ok;
      }
      if (positionals.length > 0) throw new UsageError(`${action} takes no arguments, got: ${positionals.join(' ')}`);
      const context = await loadCommandContext(values, io);
      await changeMembership(
        action,
        { root: context.root, config: context.config, wait: values['no-wait'] !== true },
        createRealPorts(io, context),
      );
      return ExitCode.ok;
    },
  };
}

export const registerCommand = membershipCommand('register');
export const deregisterCommand = membershipCommand('deregister');
