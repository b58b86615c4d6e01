// `pulldeploy prune [--keep N]`: release retention by hand; never removes current, next or previous.
import { ExitCode, UsageError } from '../../errors.js';
import { hostLayout } from '../../release/layout.js';
import { pruneBoth } from '../../steps/prune.js';
import { lastKnownPrevious, recordedGrains, recordedRun } from '../../steps/recorded-run.js';
import type { Command } from '../commands.js';
import { loadCommandContext } from '../context.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';
import { createRealPorts } from '../real-ports.js';

const help = `Usage: pulldeploy prune [--keep N] [options]

Removes old releases of the service and the base, keeping the newest N (default keep_releases, 5)
plus whatever current, next and previous point at, which are never removed.

Options:
      --keep N             releases to keep besides current, next and previous

${commonOptionsHelp}

Example:
  pulldeploy prune --keep 2 -v
`;

export const pruneCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('prune', args, { keep: { type: 'string' } });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length > 0) throw new UsageError(`prune takes no arguments, got: ${positionals.join(' ')}`);
    const keep = values.keep as string | undefined;
    if (keep !== undefined && !/^\d+$/.test(keep)) throw new UsageError(`--keep expects a whole number, got "${keep}"`);
    const context = await loadCommandContext(values, io, { keep_releases: keep === undefined ? undefined : Number(keep) });
    const { config, root, logger } = context;
    await recordedRun({
      command: 'prune',
      root,
      config,
      ports: createRealPorts(io, context),
      waitForLock: true,
      body: async ({ steps, state, notes }) => {
        const grains = recordedGrains(state, 'nothing to prune');
        notes.grains = grains;
        const layout = hostLayout(root, grains.service_name, config.base_service);
        const previous = { service: lastKnownPrevious(state, 'service'), base: lastKnownPrevious(state, 'base') };
        await steps.run('prune', () => pruneBoth(layout, config.keep_releases, previous, logger), (text) => text);
      },
    });
    return ExitCode.ok;
  },
};
