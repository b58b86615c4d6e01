// A small tmpfs mounted for a test (a full disk on demand, or a fast one), and its usage; the tests run as root.
import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Tmpfs {
  dir: string;
  /** Changes the size in place, files kept (a disk that was full gets room). */
  resize(bytes: number): Promise<void>;
  /** Bytes in use now. */
  used(): Promise<number>;
  unmount(): Promise<void>;
}

export interface TmpfsOptions {
  /** Bytes of data it holds. */
  size: number;
  /** Files and directories it holds; tmpfs's default when absent. */
  inodes?: number;
  readOnly?: boolean;
}

function mountOptions(options: TmpfsOptions): string {
  return [`size=${options.size}`, ...(options.inodes !== undefined ? [`nr_inodes=${options.inodes}`] : []), ...(options.readOnly ? ['ro'] : [])].join(',');
}

/**
 * Mounts a tmpfs on `dir` (which must exist). Never skipped: where mounting is impossible the test fails, saying
 * why, rather than passing without having tested anything.
 */
export async function mountTmpfs(dir: string, options: TmpfsOptions): Promise<Tmpfs> {
  try {
    await run('mount', ['-t', 'tmpfs', '-o', mountOptions(options), 'tmpfs', dir]);
  } catch (error) {
    const detail = error instanceof Error && 'stderr' in error ? String(error.stderr).trim() : String(error);
    throw new Error(
      `cannot mount a tmpfs on ${dir} (${detail}): these tests need to run as root where mount(8) is allowed ` +
        '(a VM, or a container started with --privileged or CAP_SYS_ADMIN); they are never skipped',
    );
  }
  let mounted = true;
  return {
    dir,
    resize: async (bytes) => {
      await run('mount', ['-o', `remount,size=${bytes}`, dir]);
    },
    used: async () => {
      const info = await statfs(dir);
      return (info.blocks - info.bfree) * info.bsize;
    },
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      // Lazily, so a process still inside (a killed run's leftover) cannot keep it mounted.
      await run('umount', ['-l', dir]);
    },
  };
}
