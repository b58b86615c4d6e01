// `pulldeploy rollback [--to VERSION]`: back to the previous (or a named) release still on disk.
import { ExitCode, UsageError } from '../../errors.js';
import { rollback } from '../../rollback.js';
import type { Command } from '../commands.js';
import { loadCommandContext } from '../context.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';
import { createRealPorts } from '../real-ports.js';

const help = `Usage: pulldeploy rollback [--to VERSION] [options]

Points current back at the previous release (or VERSION, which must still be under releases/), runs
the apply step and the post-release hooks against it, and registers with the load balancers again.
Recorded in state.json's history. The S3 pointer is not changed: a later check redeploys what it names
once it moves; promote the old version to make the rollback stick fleet-wide.

Options:
      --to VERSION         the release to go back to (default: the previous one)

${commonOptionsHelp}

Examples:
  pulldeploy rollback
  pulldeploy rollback --to 20261121.4-9e1d2c0
`;

export const rollbackCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('rollback', args, { to: { type: 'string' } });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length > 0) throw new UsageError(`rollback takes no arguments (use --to VERSION), got: ${positionals.join(' ')}`);
    const context = await loadCommandContext(values, io);
    const to = values.to as string | undefined;
    const run = await rollback(
      { root: context.root, config: context.config, ...(to !== undefined ? { to } : {}) },
      createRealPorts(io, context),
    );
    context.logger.info(`rolled back to ${run.versions.service?.current ?? '?'} (from ${run.versions.service?.previous ?? '?'})`);
    return ExitCode.ok;
  },
};
