// `pulldeploy publish SERVICE FILE --version V`: upload a packed release, refusing to replace an existing version.
import { ExitCode, UsageError } from '../../errors.js';
import { checkName, checkVersion } from '../../publish/names.js';
import { createProgress } from '../../log/progress.js';
import { formatPointer } from '../../publish/pointer-json.js';
import { publishRelease } from '../../publish/publish.js';
import { loadPublisherContext } from '../../publish/publisher-context.js';
import type { Command } from '../commands.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';

const mebibyte = 1024 * 1024;
const defaultPartMiB = 16;

const help = `Usage: pulldeploy publish SERVICE FILE --version V [--force] [options]

Uploads FILE (a .tar.gz, e.g. from "pulldeploy pack") to s3://BUCKET/PREFIX/SERVICE/releases/V.tar.gz.
Every request carries the SHA-256 and MD5 of its bytes, so S3 refuses bytes corrupted on the way; the
whole file's sha256 is also stored as x-amz-meta-sha256 for "promote". The upload is a conditional
create (If-None-Match: *): an existing version is never replaced, even by a publish racing this one.
Publishing the same bytes again is a no-op (exit 0). Files over --part-size go up in parts, with a
progress bar when stderr is a terminal.

Prints the pointer JSON that "promote" would write for this release: {"version","sha256","size"}.

Options:
      --version V        the release's version (^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$)
      --force            replace an existing version with other bytes (warns; instances that already
                         fetched it keep the old bytes)
      --part-size MIB    part size of multipart uploads, at least 5 (default ${defaultPartMiB})
      --dry-run          check and hash everything, upload nothing
      --region R         AWS region (default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1)

${commonOptionsHelp}

Exit codes: 0 published (or already there with the same bytes), 2 usage, 4 corrupted in transit,
6 AWS error, 7 the version already exists with other bytes.

Examples:
  pulldeploy publish myapp myapp.tar.gz --version "$(date +%Y%m%d).$BUILD_NUMBER-$(git rev-parse --short HEAD)"
  pulldeploy publish myapp myapp.tar.gz --version 1.4.2 --bucket my-releases
`;

function parsePartSize(raw: string | undefined): number {
  if (raw === undefined) return defaultPartMiB * mebibyte;
  if (!/^\d+$/.test(raw) || Number(raw) < 5 || Number(raw) > 5 * 1024) {
    throw new UsageError(`--part-size expects a whole number of MiB from 5 to 5120 (S3's part limits), got "${raw}"`);
  }
  return Number(raw) * mebibyte;
}

export const publishCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('publish', args, {
      version: { type: 'string' },
      force: { type: 'boolean' },
      'part-size': { type: 'string' },
      'dry-run': { type: 'boolean' },
      region: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length !== 2) {
      throw new UsageError(`expected SERVICE FILE (e.g. pulldeploy publish myapp myapp.tar.gz --version 1.0), got ${positionals.length} argument(s)`);
    }
    const [serviceArg = '', file = ''] = positionals;
    const rawVersion = values.version as string | undefined;
    if (rawVersion === undefined) throw new UsageError('missing --version V: the version this release is published as');
    const service = checkName('SERVICE', serviceArg);
    const version = checkVersion(rawVersion);
    const partSize = parsePartSize(values['part-size'] as string | undefined);
    const context = await loadPublisherContext({ ...values, region: values.region as string | undefined }, io);
    try {
      const result = await publishRelease(context, {
        service,
        version,
        file,
        force: values.force === true,
        dryRun: values['dry-run'] === true,
        partSize,
        concurrency: 4,
        progress: (total) => createProgress(`uploading ${version}`, total, io.stderr, { json: values.json === true }),
      });
      io.stdout.write(formatPointer(result.pointer));
    } finally {
      context.s3.destroy();
    }
    return ExitCode.ok;
  },
};
