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

/** Errors of the host's file systems that a person fixes on the host: not pulldeploy's bugs, nor the release's fault. */
const hostErrorAdvice: Record<string, { kind: 'space' | 'access'; what: string }> = {
  ENOSPC: { kind: 'space', what: 'no space (or no free inodes) left on the file system' },
  EDQUOT: { kind: 'space', what: 'the disk quota is exceeded on the file system' },
  EROFS: { kind: 'access', what: 'the file system is read-only' },
  EACCES: { kind: 'access', what: 'permission denied' },
  EPERM: { kind: 'access', what: 'operation not permitted' },
};

/**
 * A file system failure of the host as a typed error saying what to do: out of space is a failed step (exit 1),
 * a root that cannot be written is an unusable environment (exit 2). `where` names the place (otherwise the
 * system error's own path, if it has one: a write to an open file has none); `doing` says what was under way.
 * Undefined for anything else.
 */
export function explainHostError(error: unknown, where?: string, doing?: string): PulldeployError | undefined {
  const code = errorCode(error);
  const advice = code === undefined ? undefined : hostErrorAdvice[code];
  if (advice === undefined || isPulldeployError(error)) return undefined;
  const path = where ?? systemErrorPath(error);
  const during = doing === undefined ? '' : ` while ${doing}`;
  if (advice.kind === 'space') {
    const place = path === undefined ? '' : ` holding ${path}`;
    return new StepError(
      `${advice.what}${place} (${code})${during}: free some space (df -h, df -i; "pulldeploy prune" removes old releases) and run again`,
      { cause: error },
    );
  }
  return new UsageError(
    `cannot access ${path ?? 'the files under --root'}: ${advice.what} (${code})${during}: pulldeploy must run as root, ` +
      'with --root on a writable file system',
    { cause: error },
  );
}

function systemErrorPath(error: unknown): string | undefined {
  return error instanceof Error && 'path' in error && typeof error.path === 'string' ? error.path : undefined;
}
