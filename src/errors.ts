// Typed errors: each class carries the exit code of DESIGN.md §8 and a message a person can act on.

export const ExitCode = {
  ok: 0,
  stepFailed: 1,
  usage: 2,
  identity: 3,
  artifact: 4,
  busy: 5,
  aws: 6,
  /** Publisher side: S3 no longer holds what was read, or already holds something else under that name. */
  conflict: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base of every error the CLI reports as a plain message (no stack trace). */
export abstract class PulldeployError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  /** A short stable identifier, for `--json` logs and `state.json`. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line, bad configuration, or an unusable environment (exit 2). */
export class UsageError extends PulldeployError {
  readonly exitCode = ExitCode.usage;
  readonly code = 'usage';
}

export class ConfigError extends PulldeployError {
  readonly exitCode = ExitCode.usage;
  readonly code = 'config';
  /** Every problem found, one per line, each naming the key. */
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration in ${source}:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** The instance's service, environment, region or node could not be determined (exit 3). */
export class IdentityError extends PulldeployError {
  readonly exitCode = ExitCode.identity;
  readonly code = 'identity';
}

/** Pointer or release missing, digest or signature mismatch, unsafe archive content (exit 4). */
export class ArtifactError extends PulldeployError {
  readonly exitCode = ExitCode.artifact;
  readonly code = 'artifact';
}

/** Another run holds the lock (exit 5). */
export class BusyError extends PulldeployError {
  readonly exitCode = ExitCode.busy;
  readonly code = 'busy';
}

/** AWS or network failure that persisted after retries (exit 6). */
export class AwsError extends PulldeployError {
  readonly exitCode = ExitCode.aws;
  readonly code = 'aws';
}

/** A deploy step (hook, apply, switch, register) failed (exit 1). */
export class StepError extends PulldeployError {
  readonly exitCode = ExitCode.stepFailed;
  readonly code = 'step';
}

export function isPulldeployError(error: unknown): error is PulldeployError {
  return error instanceof PulldeployError;
}

/** The message of any thrown value, for logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The errno-style code (ENOENT, EEXIST, ESRCH, …) of a Node.js system error, for branching on expected failures. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
