// Checks of the names a publisher command puts into S3 keys: service, environment and version.
import { isSafeVersion } from '../artifacts/pointer.js';
import { UsageError } from '../errors.js';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A service or environment name becomes one segment of an S3 key and of a directory on every instance. */
export function checkName(role: 'SERVICE' | 'INSTANCE', name: string): string {
  if (!namePattern.test(name)) {
    throw new UsageError(`${role} ${JSON.stringify(name)} is not a valid name: it must match ${namePattern.source} (no slashes or spaces)`);
  }
  return name;
}

export function checkVersion(version: string): string {
  if (!isSafeVersion(version)) {
    throw new UsageError(
      `version ${JSON.stringify(version)} is not valid: it must match ^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$ because it becomes a directory name on every instance`,
    );
  }
  return version;
}
