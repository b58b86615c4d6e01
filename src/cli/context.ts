// What every command on the instance starts from: the root, the logger and the configuration.
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../log/logger.js';
import { agentPaths } from '../release/layout.js';
import type { CliIo } from './io.js';
import type { CommonValues } from './options.js';

export interface CommandContext {
  root: string;
  logger: Logger;
  config: Config;
  configFile: string | undefined;
  /** --json: log lines as JSON, and no progress bars. */
  json: boolean;
}

export function createCommandLogger(values: CommonValues, io: CliIo): Logger {
  return createLogger({
    verbosity: values.verbose?.length ?? 0,
    json: values.json === true,
    write: (line) => io.stderr.write(line),
  });
}

export async function loadCommandContext(
  values: CommonValues,
  io: CliIo,
  flags: Record<string, string | number | boolean | undefined> = {},
): Promise<CommandContext> {
  const root = resolve(values.root ?? '/');
  const logger = createCommandLogger(values, io);
  const explicitFile = values.config ?? io.env.PULLDEPLOY_CONFIG;
  const { config, file } = await loadConfig({
    ...(explicitFile !== undefined ? { explicitFile } : {}),
    defaultFile: agentPaths(root).configFile,
    env: io.env,
    flags: { bucket: values.bucket, prefix: values.prefix, ...flags },
  });
  logger.debug(file ? `configuration from ${file}` : 'no configuration file; defaults, environment and flags');
  return { root, logger, config, configFile: file, json: values.json === true };
}
