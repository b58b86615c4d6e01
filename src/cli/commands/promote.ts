// `pulldeploy promote SERVICE INSTANCE VERSION`: point an environment (or a canary cohort of it) at a verified release.
import { readFile } from 'node:fs/promises';
import { checkSigningKey } from '../../artifacts/signature.js';
import { ExitCode, UsageError, describeError } from '../../errors.js';
import { callerArn } from '../../publish/caller-identity.js';
import { checkName, checkVersion } from '../../publish/names.js';
import { formatPointer } from '../../publish/pointer-json.js';
import { promoteRelease, type PromoteTarget } from '../../publish/promote.js';
import { loadPublisherContext } from '../../publish/publisher-context.js';
import type { Command } from '../commands.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';

const help = `Usage: pulldeploy promote SERVICE INSTANCE VERSION [--canary PERCENT] [--sign-key FILE] [options]
       pulldeploy promote SERVICE INSTANCE --abort-canary [options]

Points the environment INSTANCE of SERVICE at release VERSION by writing
s3://BUCKET/PREFIX/SERVICE/INSTANCE/current. First the release must exist and its sha256 be known:
from S3's checksum or the x-amz-meta-sha256 recorded by "publish", else by reading every byte
(--verify always reads them and checks the recorded digest). The pointer is then written with a
conditional write against the pointer read (If-Match on its ETag, or If-None-Match: * for the first
one): if another promotion changed it meanwhile, this one fails with exit 7 and changes nothing.
promoted_at and promoted_by (--by, else the caller's ARN from sts:GetCallerIdentity) are recorded.

With --canary PERCENT (1-99), VERSION becomes the canary: the stable version stays, and instances whose
cohort bucket (a hash of service and node, 0-99) is below PERCENT deploy VERSION. Raising the percent
only adds instances. --canary 100, or a plain promote, makes VERSION the stable version and drops the
canary; --abort-canary drops the canary, so every instance converges on the stable version.

Prints the pointer written.

Options:
      --canary PERCENT   promote VERSION as a canary for PERCENT of the instances (1-100)
      --abort-canary     drop the canary, keep the stable version
      --sign-key FILE    ed25519 private key (PEM, from "pulldeploy keygen") to sign the release with
      --by NAME          promoted_by (default: the caller's ARN)
      --sha256 HEX       refuse unless the release has this sha256 (e.g. the output of pack)
      --verify           hash the stored release even when its sha256 was recorded at publish
      --dry-run          check everything and print the pointer, write nothing
      --region R         AWS region (default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1)

${commonOptionsHelp}

Exit codes: 0 promoted, 2 usage, 4 release missing or not matching, 6 AWS error,
7 conflict: the pointer changed since it was read (another promotion won).

Examples:
  pulldeploy promote myapp testing 20261122.1-3f2a9c1
  pulldeploy promote myapp production 20261122.1-3f2a9c1 --canary 10 --sign-key /run/secrets/release.key
  pulldeploy promote myapp production 20261122.1-3f2a9c1 --canary 30 --sign-key /run/secrets/release.key
  pulldeploy promote myapp production --abort-canary
`;

function parsePercent(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 100) {
    throw new UsageError(`--canary expects a whole percent from 1 to 100, got "${raw}" (use --abort-canary to drop a canary)`);
  }
  return Number(raw);
}

function parseSha256(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(raw)) throw new UsageError(`--sha256 expects 64 hex digits, got "${raw}"`);
  return raw.toLowerCase();
}

async function readSignKey(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --sign-key ${file}: ${describeError(error)}`, { cause: error });
  }
  try {
    checkSigningKey(pem);
  } catch (error) {
    throw new UsageError(`--sign-key ${file}: ${describeError(error)}`, { cause: error });
  }
  return pem;
}

function parseTarget(positionals: string[], canary: string | undefined, abort: boolean): { service: string; instance: string; target: PromoteTarget } {
  if (abort) {
    if (canary !== undefined) throw new UsageError('--abort-canary and --canary exclude each other');
    if (positionals.length !== 2) {
      throw new UsageError(`expected SERVICE INSTANCE with --abort-canary (e.g. pulldeploy promote myapp production --abort-canary), got ${positionals.length} argument(s)`);
    }
  } else if (positionals.length !== 3) {
    throw new UsageError(`expected SERVICE INSTANCE VERSION (e.g. pulldeploy promote myapp testing 1.0), got ${positionals.length} argument(s)`);
  }
  const [service = '', instance = '', version = ''] = positionals;
  const names = { service: checkName('SERVICE', service), instance: checkName('INSTANCE', instance) };
  if (abort) return { ...names, target: { kind: 'abort-canary' } };
  checkVersion(version);
  return { ...names, target: canary !== undefined ? { kind: 'canary', version, percent: parsePercent(canary) } : { kind: 'stable', version } };
}

export const promoteCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('promote', args, {
      canary: { type: 'string' },
      'abort-canary': { type: 'boolean' },
      'sign-key': { type: 'string' },
      by: { type: 'string' },
      sha256: { type: 'string' },
      verify: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      region: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    const { service, instance, target } = parseTarget(positionals, values.canary as string | undefined, values['abort-canary'] === true);
    const expectedSha256 = parseSha256(values.sha256 as string | undefined);
    const signKeyPem = await readSignKey(values['sign-key'] as string | undefined);
    const by = values.by as string | undefined;
    const context = await loadPublisherContext({ ...values, region: values.region as string | undefined }, io);
    try {
      const result = await promoteRelease(context, {
        service,
        instance,
        target,
        signKeyPem,
        expectedSha256,
        stream: values.verify === true,
        dryRun: values['dry-run'] === true,
        promoter: async () => by ?? (await callerArn(context.region, context.logger)),
        now: () => new Date(),
      });
      if (result.pointer !== undefined) io.stdout.write(formatPointer(result.pointer));
    } finally {
      context.s3.destroy();
    }
    return ExitCode.ok;
  },
};
