// The apply step: write salt's grains and minion configuration, then run apply.command (salt-call by default).
import { join } from 'node:path';
import { stringify } from 'yaml';
import { StepError, describeError, explainHostError } from '../errors.js';
import type { Grains } from '../identity/grains.js';
import { writeFileAtomic } from '../release/durable.js';
import { agentPaths } from '../release/layout.js';
import { crashPoint } from '../state/crash-point.js';
import type { RunSettings } from './run-settings.js';
import { describeProcessFailure, isProcessSuccess, runShellCommand, type ProcessResult } from './process-runner.js';

export interface SaltConfigFiles {
  grainsFile: string;
  minionConfFile: string;
}

export type ApplyRecord =
  | { command: string; skipped: true }
  | ({ command: string; skipped: false } & ProcessResult);

/** The apply command failed; carries its record for state.json. */
export class ApplyFailedError extends StepError {
  readonly apply: ApplyRecord;

  constructor(message: string, apply: ApplyRecord) {
    super(message);
    this.apply = apply;
  }
}

export interface RunApplyOptions extends RunSettings {
  /** apply.command from the configuration, run with /bin/sh -c; `none` skips the step. */
  command: string;
}

/** The value of apply.command that turns the apply step off. */
export const skipApplyCommand = 'none';
/** /bin/sh's exit status when it cannot find the program. */
const commandNotFoundExitCode = 127;
const generatedHeader = '# Written by pulldeploy before every apply; edits here are overwritten.\n';
// Salt reads YAML 1.1, where unquoted yes/no/on/off and 0-prefixed digits are not strings.
const yamlOptions = { version: '1.1' } as const;

/** Writes `<root>/etc/salt/grains` and `<root>/etc/salt/minion.d/pulldeploy.conf`, each atomically. */
export async function writeSaltConfig(options: { root: string; grains: Grains }): Promise<SaltConfigFiles> {
  const { root, saltGrainsFile: grainsFile, saltMinionConfigFile: minionConfFile } = agentPaths(options.root);
  const minionConf = {
    file_client: 'local',
    failhard: true,
    file_roots: {
      base: [join(root, 'srv/service/next/salt/config/states'), join(root, 'srv/base/current/states')],
    },
    pillar_roots: {
      base: [join(root, 'srv/service/next/salt/config/pillar'), join(root, 'srv/base/current/pillar')],
    },
  };
  await writeConfigFile(grainsFile, generatedHeader + stringify({ ...options.grains }, yamlOptions));
  await writeConfigFile(minionConfFile, generatedHeader + stringify(minionConf, yamlOptions));
  return { grainsFile, minionConfFile };
}

export async function runApply(options: RunApplyOptions): Promise<ApplyRecord> {
  const { command, logger } = options;
  if (command.trim() === skipApplyCommand) {
    logger.info('apply skipped: apply.command is "none"');
    return { command, skipped: true };
  }
  const label = `apply command "${command}"`;
  logger.verbose(`running ${label}`);
  const result = await runShellCommand(command, {
    cwd: options.cwd,
    env: options.env,
    timeoutMs: options.timeoutMs,
    killGraceMs: options.killGraceMs,
    label,
    backgroundGraceMs: options.backgroundGraceMs,
    onLine: (stream, line) => {
      crashPoint('apply:running');
      logger.verbose(`[apply] ${line}`, { stream });
    },
  });
  const record: ApplyRecord = { command, skipped: false, ...result };
  if (result.leftBackground) {
    logger.warn(`${label} left a background process holding its output; stopped reading it after its exit`);
  }
  if (!isProcessSuccess(result)) {
    const hint = result.exitCode === commandNotFoundExitCode ? describeProgramNotFound(command, options.env) : undefined;
    throw new ApplyFailedError(describeProcessFailure(label, result, options.timeoutMs, hint), record);
  }
  // Its duration is logged by the deploy's step timing, like every step's.
  return record;
}

function describeProgramNotFound(command: string, env: NodeJS.ProcessEnv): string {
  const program = command.trim().split(/\s+/)[0] ?? command;
  return (
    `exit code 127 means the shell could not find "${program}" (PATH=${env.PATH ?? ''}): ` +
    `install salt (it provides salt-call), or set apply.command in the configuration ` +
    `("none" skips the apply step)`
  );
}

async function writeConfigFile(file: string, content: string): Promise<void> {
  try {
    await writeFileAtomic(file, content);
  } catch (error) {
    throw (
      explainHostError(error, file, 'writing the salt configuration') ??
      new StepError(`cannot write the salt configuration ${file}: ${describeError(error)}`, { cause: error })
    );
  }
}
