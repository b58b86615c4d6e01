// `pulldeploy pack DIR -o FILE`: a release directory into a deterministic .tar.gz; prints its sha256.
import { ExitCode, UsageError } from '../../errors.js';
import { packDirectory, packMtime } from '../../publish/pack.js';
import type { Command } from '../commands.js';
import { createCommandLogger } from '../context.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';

const help = `Usage: pulldeploy pack DIR -o FILE.tar.gz [--json]

Packs the release directory DIR into a gzip tarball that depends only on the tree's names, contents,
link targets and executable bits: entries in byte order of their names, each directory before its
contents; every mtime SOURCE_DATE_EPOCH (or 0); uid/gid 0 with empty user and group names; modes
0755 for directories and executables, 0644 for other files. Packing the same tree twice, on any
checkout, with any umask, gives identical bytes.

Prints the sha256 of FILE on stdout (with --json, {"file","sha256","size","entries"}).
Refuses a tree the agent would refuse to extract: symlinks leading outside DIR (directly or through
other links), absolute link targets, FIFOs, sockets and devices. Warns about files in hooks/*/ that
are not executable, which the agent skips.

Options:
  -o, --output FILE      the tarball to write (replaced atomically; must be outside DIR)

${commonOptionsHelp}

Examples:
  pulldeploy pack build/release -o myapp.tar.gz
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) pulldeploy pack build/release -o "myapp-$VERSION.tar.gz"
  sha=$(pulldeploy pack build/release -o myapp.tar.gz)
`;

export const packCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('pack', args, { output: { type: 'string', short: 'o' } });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    const [dir, ...extra] = positionals;
    if (dir === undefined || extra.length > 0) {
      throw new UsageError(`expected one DIR (e.g. pulldeploy pack build/release -o myapp.tar.gz), got ${positionals.length} argument(s)`);
    }
    const output = values.output as string | undefined;
    if (output === undefined || output === '') throw new UsageError('missing -o FILE.tar.gz: where to write the tarball');
    const logger = createCommandLogger(values, io);
    const result = await packDirectory({ dir, output, mtime: packMtime(io.env.SOURCE_DATE_EPOCH), logger });
    io.stdout.write(values.json ? JSON.stringify(result) + '\n' : `${result.sha256}\n`);
    return ExitCode.ok;
  },
};
