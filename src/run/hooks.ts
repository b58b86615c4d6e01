// Runs a release's hooks of one phase, run-parts style: executables in byte order, stopping at the first failure.
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StepError, describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { errorCode } from '../errors.js';
import { formatDuration } from '../log/format-duration.js';
import { crashPoint } from '../state/crash-point.js';
import type { RunSettings } from './run-settings.js';
import { describeProcessFailure, isProcessSuccess, runProcess, type ProcessResult } from './process-runner.js';

export type HookPhase = 'pre-release' | 'post-release';

export interface HookRunRecord extends ProcessResult {
  /** The file name: `10-migrate`. */
  name: string;
  phase: HookPhase;
}

/** A hook failed; carries the records of every hook run so far (the failed one last) for state.json. */
export class HookFailedError extends StepError {
  readonly hooks: readonly HookRunRecord[];

  constructor(message: string, hooks: readonly HookRunRecord[]) {
    super(message);
    this.hooks = hooks;
  }
}

export interface RunHooksOptions extends RunSettings {
  /** The phase's hook directory: `<release>/hooks/pre-release`. */
  dir: string;
  phase: HookPhase;
}

export async function runHooks(options: RunHooksOptions): Promise<HookRunRecord[]> {
  const { phase, logger } = options;
  const hooks = await listHooks(options.dir, phase, logger);
  const records: HookRunRecord[] = [];
  for (const name of hooks) {
    const label = `hook ${phase}/${name}`;
    const prefix = `[${phase}/${name}] `;
    const result = await runProcess({
      command: [join(options.dir, name)],
      cwd: options.cwd,
      env: options.env,
      timeoutMs: options.timeoutMs,
      killGraceMs: options.killGraceMs,
      label,
      backgroundGraceMs: options.backgroundGraceMs,
      onLine: (stream, line) => {
        crashPoint(`hook:${phase}`);
        logger.verbose(prefix + line, { stream });
      },
    });
    records.push({ name, phase, ...result });
    if (result.leftBackground) {
      logger.warn(
        `${label} left a background process holding its output; stopped reading it after its exit ` +
          `(redirect that command's output, e.g. >/dev/null 2>&1)`,
      );
    }
    if (!isProcessSuccess(result)) {
      logger.info(`${label} failed in ${formatDuration(result.durationMs)}`, { durationMs: result.durationMs });
      throw new HookFailedError(describeProcessFailure(label, result, options.timeoutMs), records);
    }
    logger.info(`${label} ok in ${formatDuration(result.durationMs)}`, { durationMs: result.durationMs });
  }
  return records;
}

/** Names of the runnable hooks in byte order; everything else is skipped, with a warning where it looks like a mistake. */
async function listHooks(dir: string, phase: HookPhase, logger: Logger): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      logger.debug(`no ${phase} hooks: ${dir} does not exist`);
      return [];
    }
    throw new StepError(`cannot read the ${phase} hooks directory ${dir}: ${describeError(error)}`, { cause: error });
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const runnable: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) {
      logger.warn(`skipping hook ${phase}/${name}: ${path} cannot be read (a dangling link?)`);
    } else if (info.isDirectory()) {
      logger.debug(`skipping ${path}: a directory`);
    } else if (!info.isFile()) {
      logger.warn(`skipping hook ${phase}/${name}: ${path} is not a regular file`);
    } else if (!(await isExecutable(path))) {
      logger.warn(`skipping hook ${phase}/${name}: ${path} is not executable (chmod +x it to run it)`);
    } else {
      runnable.push(name);
    }
  }
  return runnable;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
