// `pulldeploy check`: for timers and cron; deploys only when a pointer moved or the last run failed.
import { check } from '../../check.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { Command } from '../commands.js';
import { loadCommandContext } from '../context.js';
import { commonOptionsHelp, parseCommandLine, parseSeconds } from '../options.js';
import { createRealPorts } from '../real-ports.js';

const help = `Usage: pulldeploy check [options]

For systemd timers and cron. Sleeps a random jitter, then reads the base and service pointers with
conditional GETs (the ETags of the last deploy): when nothing moved and the last run succeeded it
exits 0 having written nothing; when a pointer moved, or the last run failed, it deploys. If another
run holds the lock it exits 5 at once.

Options:
      --jitter S           sleep a random 0..S seconds first (config: check.jitter, default 30; 0 disables)
      --dry-run            decide, and print what a deploy would do; change nothing

${commonOptionsHelp}

Examples:
  pulldeploy check                     from pulldeploy-check.timer
  pulldeploy check --jitter 0 -v       now, saying "up to date (...)" when nothing moved
  */5 * * * * root /usr/local/bin/pulldeploy check --json >> /var/log/pulldeploy.log 2>&1
`;

export const checkCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('check', args, {
      jitter: { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length > 0) throw new UsageError(`check takes no arguments, got: ${positionals.join(' ')}`);
    const jitter = parseSeconds('jitter', values.jitter as string | undefined);
    const context = await loadCommandContext(values, io, { 'check.jitter': jitter });
    const outcome = await check(
      {
        root: context.root,
        config: context.config,
        jitterSeconds: context.config.check.jitter,
        dryRun: values['dry-run'] === true,
      },
      createRealPorts(io, context),
    );
    if (outcome.action === 'up-to-date') {
      if (values['dry-run']) io.stdout.write(`${outcome.summary}: nothing to deploy\n`);
      else context.logger.verbose(outcome.summary);
    }
    else if (outcome.action === 'planned') {
      // The plan's formatting is needed only for --dry-run; a timer's check does not load it.
      const { formatPlan } = await import('../../plan.js');
      io.stdout.write(`would deploy: ${outcome.reason}\n${formatPlan(outcome.plan)}`);
    }
    else context.logger.info(`deployed ${outcome.run.grains?.service_name ?? 'service'} ${outcome.run.versions.service?.current ?? '?'}`);
    return ExitCode.ok;
  },
};
