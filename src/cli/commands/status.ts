// `pulldeploy status`: identity, versions, the last run and its steps, the lock holder; one screen or JSON.
import { ExitCode, UsageError } from '../../errors.js';
import { formatStatus, readStatus } from '../../status.js';
import type { Command } from '../commands.js';
import { loadCommandContext } from '../context.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';

const help = `Usage: pulldeploy status [--json] [options]

Shows this instance's grains, the current, next and previous versions of the service and the base,
the last run (outcome, when, each step's duration, the error if any), who holds the lock, and whether
pointer signatures are checked. Reads only; needs no network.

${commonOptionsHelp}

Examples:
  pulldeploy status
  pulldeploy status --json | jq .last_run.failed_step
`;

export const statusCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('status', args, {});
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length > 0) throw new UsageError(`status takes no arguments, got: ${positionals.join(' ')}`);
    const context = await loadCommandContext(values, io);
    const status = await readStatus(context.root, context.config);
    io.stdout.write(values.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status, new Date()));
    return ExitCode.ok;
  },
};
