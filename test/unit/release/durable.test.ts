// Tests for atomic whole-file writes and directory fsync.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncDirectory, tempPathBeside, writeFileAtomic } from '../../../src/release/durable.js';

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
