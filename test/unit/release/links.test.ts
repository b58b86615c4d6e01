// Tests for atomic relative symlinks: relative targets, replacement without a gap, restore, damaged layouts.
import { lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepError } from '../../../src/errors.js';
import { linkedVersion, pointLink, readLink, restoreLink } from '../../../src/release/links.js';

let root: string;
let serviceDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pulldeploy-links-'));
  serviceDir = join(root, 'srv', 'myapp');
  await mkdir(join(serviceDir, 'releases', 'v1'), { recursive: true });
  await mkdir(join(serviceDir, 'releases', 'v2'), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pointLink', () => {
  it('creates a link whose target is relative to the link directory', async () => {
    const current = join(serviceDir, 'current');
    await pointLink(current, join(serviceDir, 'releases', 'v1'));
    expect(await readlink(current)).toBe('releases/v1');
    await pointLink(join(root, 'srv', 'service'), serviceDir);
    expect(await readlink(join(root, 'srv', 'service'))).toBe('myapp');
  });

  it('keeps the tree valid when the whole root is moved', async () => {
    await pointLink(join(serviceDir, 'current'), join(serviceDir, 'releases', 'v1'));
    await writeFile(join(serviceDir, 'releases', 'v1', 'marker'), 'v1');
    const moved = `${root}-moved`;
    await rename(root, moved);
    root = moved;
    expect((await stat(join(moved, 'srv', 'myapp', 'current', 'marker'))).isFile()).toBe(true);
  });

  it('replaces an existing link and leaves no temp link behind', async () => {
    const current = join(serviceDir, 'current');
    await pointLink(current, join(serviceDir, 'releases', 'v1'));
    await pointLink(current, join(serviceDir, 'releases', 'v2'));
    expect(await readlink(current)).toBe('releases/v2');
    expect((await readdir(serviceDir)).sort()).toEqual(['current', 'releases']);
  });

  it('creates the directory of the link when it is missing', async () => {
    const baseCurrent = join(root, 'srv', 'base', 'current');
    await pointLink(baseCurrent, join(serviceDir, 'releases', 'v1'));
    expect(await readlink(baseCurrent)).toBe('../myapp/releases/v1');
  });

  it('is never missing or dangling while it is switched back and forth', async () => {
    const current = join(serviceDir, 'current');
    const targets = [join(serviceDir, 'releases', 'v1'), join(serviceDir, 'releases', 'v2')];
    await pointLink(current, targets[0]!);
    let switching = true;
    const switcher = (async () => {
      for (let i = 0; i < 400; i += 1) await pointLink(current, targets[i % 2]!);
      switching = false;
    })();
    const problems: string[] = [];
    let reads = 0;
    const reader = async (): Promise<void> => {
      while (switching) {
        try {
          const target = await readlink(current);
          if (target !== 'releases/v1' && target !== 'releases/v2') problems.push(`unexpected target ${target}`);
          if (!(await stat(current)).isDirectory()) problems.push('current does not resolve to a directory');
        } catch (error) {
          problems.push(String(error));
        }
        reads += 1;
      }
    };
    await Promise.all([switcher, reader(), reader(), reader()]);
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(1000);
  });

  it('refuses to replace a real directory, naming it, and leaves it alone', async () => {
    const current = join(serviceDir, 'current');
    await mkdir(join(current, 'data'), { recursive: true });
    const attempt = pointLink(current, join(serviceDir, 'releases', 'v1'));
    await expect(attempt).rejects.toThrow(StepError);
    await expect(pointLink(current, join(serviceDir, 'releases', 'v1'))).rejects.toThrow(
      `${current} is a directory, not a symlink: the host layout is damaged; move it aside (mv ${current} ${current}.bak) and run again`,
    );
    expect((await lstat(join(current, 'data'))).isDirectory()).toBe(true);
    expect((await readdir(serviceDir)).sort()).toEqual(['current', 'releases']);
  });

  it('refuses to replace a regular file', async () => {
    const current = join(serviceDir, 'current');
    await writeFile(current, 'not a link');
    await expect(pointLink(current, join(serviceDir, 'releases', 'v1'))).rejects.toThrow(`${current} is a regular file, not a symlink`);
  });

  it('refuses a target that does not exist, leaving the old link in place', async () => {
    const current = join(serviceDir, 'current');
    await pointLink(current, join(serviceDir, 'releases', 'v1'));
    const missing = join(serviceDir, 'releases', 'v9');
    await expect(pointLink(current, missing)).rejects.toThrow(`cannot point ${current} at ${missing}: the target does not exist (ENOENT)`);
    expect(await readlink(current)).toBe('releases/v1');
  });
});

describe('readLink and linkedVersion', () => {
  it('return the absolute target and its version', async () => {
    const current = join(serviceDir, 'current');
    await pointLink(current, join(serviceDir, 'releases', 'v2'));
    expect(await readLink(current)).toBe(join(serviceDir, 'releases', 'v2'));
    expect(await linkedVersion(current)).toBe('v2');
  });

  it('return undefined when there is no link', async () => {
    expect(await readLink(join(serviceDir, 'next'))).toBeUndefined();
    expect(await linkedVersion(join(serviceDir, 'next'))).toBeUndefined();
  });

  it('resolve a dangling link too', async () => {
    const next = join(serviceDir, 'next');
    await symlink('releases/gone', next);
    expect(await readLink(next)).toBe(join(serviceDir, 'releases', 'gone'));
    expect(await linkedVersion(next)).toBe('gone');
  });

  it('refuse a real directory where a link belongs', async () => {
    const current = join(serviceDir, 'current');
    await mkdir(current);
    await expect(readLink(current)).rejects.toThrow(`${current} is a directory, not a symlink`);
  });
});

describe('restoreLink', () => {
  it('puts back the previous target', async () => {
    const current = join(serviceDir, 'current');
    await pointLink(current, join(serviceDir, 'releases', 'v1'));
    const previous = await readLink(current);
    await pointLink(current, join(serviceDir, 'releases', 'v2'));
    await restoreLink(current, previous);
    expect(await readlink(current)).toBe('releases/v1');
  });

  it('puts back a previous target even if it no longer exists', async () => {
    const next = join(serviceDir, 'next');
    await pointLink(next, join(serviceDir, 'releases', 'v2'));
    await restoreLink(next, join(serviceDir, 'releases', 'gone'));
    expect(await readlink(next)).toBe('releases/gone');
  });

  it('removes the link when there was none before', async () => {
    const next = join(serviceDir, 'next');
    await pointLink(next, join(serviceDir, 'releases', 'v2'));
    await restoreLink(next, undefined);
    expect(await readdir(serviceDir)).toEqual(['releases']);
    await expect(restoreLink(next, undefined)).resolves.toBeUndefined();
  });

  it('does not remove a real directory in place of the link', async () => {
    const next = join(serviceDir, 'next');
    await mkdir(next);
    await expect(restoreLink(next, undefined)).rejects.toThrow(StepError);
    expect((await lstat(next)).isDirectory()).toBe(true);
  });
});
