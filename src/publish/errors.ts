// Errors of the publisher side: a conflict with what S3 holds (exit 7).
import { ExitCode, PulldeployError } from '../errors.js';

/** A promotion lost a race: the pointer changed (or appeared, or vanished) between reading it and writing it. */
export class PromoteConflictError extends PulldeployError {
  readonly exitCode = ExitCode.conflict;
  readonly code = 'conflict';
}

/** `publish` of a version that already exists with other bytes: releases are immutable. */
export class ReleaseExistsError extends PulldeployError {
  readonly exitCode = ExitCode.conflict;
  readonly code = 'release-exists';
}
