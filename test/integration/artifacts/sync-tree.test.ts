// syncTree: one syncfs through coreutils' `sync --file-system`, a pass of fsyncs where the command is missing,
// a failure of the flush reported as a failed step, never ignored; and the early flushes made while extracting.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startWriteback, syncTree } from '../../../src/artifacts/sync-tree.js';
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

/** A `sync` on the PATH that records each call and takes `seconds` to finish. */
async function fakeSync(seconds: number, exitCode = 0): Promise<string> {
  const bin = join(work, 'fake-bin');
  const calls = join(work, 'sync-calls');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'sync'), `#!/bin/sh\necho "$*" >> '${calls}'\nsleep ${seconds}\nexit ${exitCode}\n`, { mode: 0o755 });
  vi.stubEnv('PATH', `${bin}:${process.env.PATH ?? ''}`);
  return calls;
}

const callsIn = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe('early writeback', () => {
  it('runs one flush at a time: a kick while one runs starts nothing', async () => {
    const calls = await fakeSync(0.3);
    const writeback = startWriteback(join(work, 'tree'));
    writeback.kick();
    writeback.kick();
    await writeback.settled();
    expect(await callsIn(calls)).toEqual([`--file-system ${join(work, 'tree')}`]);
    writeback.kick();
    await writeback.settled();
    expect(await callsIn(calls)).toHaveLength(2);
  });

  it('keeps quiet about a failed early flush: the final one reports', async () => {
    const calls = await fakeSync(0, 1);
    const writeback = startWriteback(join(work, 'tree'));
    writeback.kick();
    await expect(writeback.settled()).resolves.toBeUndefined();
    expect(await callsIn(calls)).toHaveLength(1);
  });

  it('does nothing where no sync command is on the PATH', async () => {
    vi.stubEnv('PATH', join(work, 'no-such-bin'));
    const writeback = startWriteback(join(work, 'tree'));
    writeback.kick();
    await expect(writeback.settled()).resolves.toBeUndefined();
  });
});
