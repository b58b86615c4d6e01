// Tests for atomic whole-file writes and directory fsync.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isLeftOfDeadProcess,
  makeDirectory,
  ownerPid,
  removeDeadTemps,
  syncDirectory,
  tempPathBeside,
  writeFileAtomic,
} from '../../../src/release/durable.js';
import { exitedPid } from '../../helpers/processes.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-durable-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates missing parent directories and writes the content with the given mode', async () => {
    const path = join(dir, 'a', 'b', 'file.json');
    await writeFileAtomic(path, '{"x":1}\n', 0o600);
    expect(await readFile(path, 'utf8')).toBe('{"x":1}\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('replaces an existing file and leaves no temp file behind', async () => {
    const path = join(dir, 'file');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['file']);
  });

  it('removes its temp file and rethrows when the rename fails', async () => {
    const path = join(dir, 'occupied');
    await mkdir(join(path, 'child'), { recursive: true });
    await expect(writeFileAtomic(path, 'data')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(await readdir(dir)).toEqual(['occupied']);
  });
});

describe('tempPathBeside', () => {
  it('names a hidden, unique file in the same directory', () => {
    const first = tempPathBeside('/x/y/state.json');
    expect(first).toMatch(new RegExp(`^/x/y/\\.state\\.json\\.tmp-${process.pid}-[0-9a-f]{12}$`));
    expect(tempPathBeside('/x/y/state.json')).not.toBe(first);
  });
});

describe('syncDirectory', () => {
  it('syncs an existing directory and fails on a missing one', async () => {
    await expect(syncDirectory(dir)).resolves.toBeUndefined();
    await expect(syncDirectory(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});

describe('leftovers of dead processes', () => {
  it('reads the pid from names ending in <pid>-<random>, and nothing from others', () => {
    expect(ownerPid('.state.json.tmp-1234-0123456789ab')).toBe(1234);
    expect(ownerPid('.incoming-1.0-2-beta-5678-AbC123')).toBe(5678);
    expect(ownerPid('.incoming-old')).toBeUndefined();
  });

  it('calls a name of this process or of a live one not left, and one of an exited process left', async () => {
    expect(await isLeftOfDeadProcess(`.x.tmp-${process.pid}-0123456789ab`)).toBe(false);
    expect(await isLeftOfDeadProcess(`.x.tmp-${process.ppid}-0123456789ab`)).toBe(false);
    expect(await isLeftOfDeadProcess(`.x.tmp-${await exitedPid()}-0123456789ab`)).toBe(true);
    expect(await isLeftOfDeadProcess('.x.tmp-nopid')).toBe(false);
  });

  it('removes the temp files and links of dead processes beside a path, and only those', async () => {
    const dead = await exitedPid();
    await writeFile(join(dir, `.state.json.tmp-${dead}-0123456789ab`), 'half');
    await symlink('releases/v2', join(dir, `.current.tmp-${dead}-0123456789ab`));
    await writeFile(join(dir, `.state.json.tmp-${process.pid}-0123456789ab`), 'mine, in progress');
    await writeFile(join(dir, 'state.json'), '{}');
    await removeDeadTemps(join(dir, 'state.json'));
    await removeDeadTemps(join(dir, 'current'));
    expect((await readdir(dir)).sort()).toEqual([`.state.json.tmp-${process.pid}-0123456789ab`, 'state.json']);
  });

  it('writeFileAtomic clears what a killed writer left beside its file', async () => {
    const leftover = join(dir, `.state.json.tmp-${await exitedPid()}-0123456789ab`);
    await writeFile(leftover, 'half');
    await writeFileAtomic(join(dir, 'state.json'), '{}\n');
    expect(await readdir(dir)).toEqual(['state.json']);
  });
});

describe('makeDirectory', () => {
  it('makes every missing level', async () => {
    await makeDirectory(join(dir, 'a/b/c'));
    expect((await stat(join(dir, 'a/b/c'))).isDirectory()).toBe(true);
  });

  it('names the real reason a level cannot be made (a file in the way), not a bare ENOENT', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(makeDirectory(join(dir, 'file/b/c'))).rejects.toThrow(/ENOTDIR/);
  });
});
