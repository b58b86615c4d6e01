// Flags every command shares, and parsing that turns mistakes into usage errors naming the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const commonOptions = {
  verbose: { type: 'boolean', short: 'v', multiple: true },
  json: { type: 'boolean' },
  root: { type: 'string' },
  config: { type: 'string' },
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export const commonOptionsHelp = `Common options:
  -v, --verbose        more output: -v shows hook and apply output, -vv debug detail
      --json           one JSON object per log line
      --root DIR       act on the host tree under DIR (default /)
      --config FILE    configuration file (default ROOT/etc/pulldeploy/config.yaml, or $PULLDEPLOY_CONFIG)
      --bucket B       S3 bucket of releases and pointers (config: bucket)
      --prefix P       key prefix in the bucket (config: prefix, default deploy)
  -h, --help           this help`;

export interface CommonValues {
  verbose?: boolean[];
  json?: boolean;
  root?: string;
  config?: string;
  bucket?: string;
  prefix?: string;
  help?: boolean;
}

export function parseCommandLine<T extends OptionSpec>(
  command: string,
  args: string[],
  options: T,
): { values: CommonValues & Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { ...commonOptions, ...options }, allowPositionals: true, strict: true });
    return { values: parsed.values as CommonValues & Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]}; see "pulldeploy ${command} --help"`, { cause: error });
  }
}

/** A flag that takes a whole number of seconds. */
export function parseSeconds(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${flag} expects a whole number of seconds, got "${raw}"`);
  return Number(raw);
}
