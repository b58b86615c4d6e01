// `pulldeploy releases SERVICE`: the published versions, their sizes and dates, and which environment points where.
import { ExitCode, UsageError } from '../../errors.js';
import { checkName } from '../../publish/names.js';
import { loadPublisherContext } from '../../publish/publisher-context.js';
import { formatListing, listReleases } from '../../publish/releases.js';
import type { Command } from '../commands.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';

const help = `Usage: pulldeploy releases SERVICE [--json] [options]

Lists every release under s3://BUCKET/PREFIX/SERVICE/releases/ with its size and upload date (oldest
first), and every environment's pointer: its stable version, its canary and percent, when and by whom
it was promoted. A pointer that agents would refuse, or that names a release that does not exist, is
flagged. With --json, prints one JSON object: {"service","url","releases":[…],"environments":[…]}.

Options:
      --region R         AWS region (default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1)

${commonOptionsHelp}

Examples:
  pulldeploy releases myapp
  pulldeploy releases myapp --json | jq -r '.environments[] | "\\(.environment) \\(.version)"'
`;

export const releasesCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('releases', args, { region: { type: 'string' } });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length !== 1) {
      throw new UsageError(`expected SERVICE (e.g. pulldeploy releases myapp), got ${positionals.length} argument(s)`);
    }
    const service = checkName('SERVICE', positionals[0] ?? '');
    const context = await loadPublisherContext({ ...values, region: values.region as string | undefined }, io);
    try {
      const listing = await listReleases(context, service);
      io.stdout.write(values.json ? JSON.stringify(listing) + '\n' : formatListing(listing));
    } finally {
      context.s3.destroy();
    }
    return ExitCode.ok;
  },
};
