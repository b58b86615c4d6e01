// syncTree: one syncfs through coreutils' `sync --file-system`, a pass of fsyncs where the command is missing,
// and a failure of the flush reported as a failed step, never ignored.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { syncTree } from '../../../src/artifacts/sync-tree.js';
import { StepError, errorCode } from '../../../src/errors.js';
import { failure } from '../../helpers/failure.js';

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'pulldeploy-sync-tree-'));
  await mkdir(join(work, 'tree/a/b'), { recursive: true });
  await writeFile(join(work, 'tree/a/b/file'), 'content');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(work, { recursive: true, force: true });
});

it('flushes a tree with the sync command', async () => {
  await expect(syncTree(join(work, 'tree'))).resolves.toBeUndefined();
});

it('reports a flush that fails as a failed step, with what the sync command said', async () => {
  const error = await failure(syncTree(join(work, 'missing')));
  expect(error).toBeInstanceOf(StepError);
  expect(error.message).toMatch(new RegExp(`^cannot flush ${join(work, 'missing')} to disk \\(sync --file-system\\): sync: .*No such file or directory`));
});

it('fsyncs every file and directory itself where no sync command is on the PATH', async () => {
  const emptyPath = join(work, 'bin');
  await mkdir(emptyPath);
  vi.stubEnv('PATH', emptyPath);
  await expect(syncTree(join(work, 'tree'))).resolves.toBeUndefined();
  // The pass of its own reads the tree: a missing one fails with the file system's error, not the command's.
  const error = await failure(syncTree(join(work, 'missing')));
  expect(error).not.toBeInstanceOf(StepError);
  expect(errorCode(error)).toBe('ENOENT');
});
