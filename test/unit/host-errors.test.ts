// Host file system failures made into errors a person acts on: out of space exits 1, a root that cannot be written exits 2.
import { describe, expect, it } from 'vitest';
import { ArtifactError, StepError, UsageError, explainHostError } from '../../src/errors.js';

const systemError = (code: string, path?: string) =>
  Object.assign(new Error(`${code}: something, write`), { code, ...(path !== undefined ? { path } : {}) });

describe('explainHostError', () => {
  it('makes a full disk a failed step naming the place and what was under way', () => {
    const error = explainHostError(systemError('ENOSPC'), '/srv/myapp/releases', 'fetching s3://b/k');
    expect(error).toBeInstanceOf(StepError);
    expect(error?.exitCode).toBe(1);
    expect(error?.message).toBe(
      'no space (or no free inodes) left on the file system holding /srv/myapp/releases (ENOSPC) while fetching s3://b/k: ' +
        'free some space (df -h, df -i; "pulldeploy prune" removes old releases) and run again',
    );
  });

  it('uses the path the system error carries when none is given, and says so for a quota', () => {
    expect(explainHostError(systemError('EDQUOT', '/var/lib/pulldeploy/state.json'))?.message).toBe(
      'the disk quota is exceeded on the file system holding /var/lib/pulldeploy/state.json (EDQUOT): ' +
        'free some space (df -h, df -i; "pulldeploy prune" removes old releases) and run again',
    );
  });

  it('makes a read-only or forbidden root an unusable environment (exit 2)', () => {
    const readOnly = explainHostError(systemError('EROFS', '/srv'));
    expect(readOnly).toBeInstanceOf(UsageError);
    expect(readOnly?.message).toBe('cannot access /srv: the file system is read-only (EROFS): pulldeploy must run as root, with --root on a writable file system');
    expect(explainHostError(systemError('EACCES'))?.message).toBe(
      'cannot access the files under --root: permission denied (EACCES): pulldeploy must run as root, with --root on a writable file system',
    );
  });

  it('leaves every other error alone, typed ones included', () => {
    expect(explainHostError(systemError('EIO', '/srv'))).toBeUndefined();
    expect(explainHostError(new Error('plain'))).toBeUndefined();
    expect(explainHostError(Object.assign(new ArtifactError('refused'), { code: 'ENOSPC' }))).toBeUndefined();
  });
});
