// extractTar on a file system that fills up: node-tar takes a short write(2) for a whole one, so the last write of a
// file cut short by a full disk left it truncated without an error; the size check after extraction catches it.
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EntryPolicy } from '../../../src/artifacts/entry-policy.js';
import { extractTar } from '../../../src/artifacts/extract.js';
import { StepError } from '../../../src/errors.js';
import { tar } from '../../helpers/archives.js';
import { failure } from '../../helpers/failure.js';
import { mountTmpfs, type Tmpfs } from '../../helpers/tmpfs.js';

const mebibyte = 1024 * 1024;
let work: string;
let disk: Tmpfs;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'pulldeploy-extract-full-'));
  disk = await mountTmpfs(work, { size: mebibyte });
  await mkdir(join(work, 'release'));
});

afterEach(async () => {
  await disk.unmount();
  await rm(work, { recursive: true, force: true });
});

it('refuses a file left shorter than its declared size by a full disk, saying so', async () => {
  // In one chunk, node-tar writes the whole file with one write(2), which the 1 MiB disk cuts short without an error.
  const archive = tar([{ path: 'big', content: Buffer.alloc(2 * mebibyte, 'x') }]);
  const error = await failure(extractTar(Readable.from([archive]), join(work, 'release'), new EntryPolicy({ maxBytes: 10 * mebibyte, maxEntries: 10 })));

  const onDisk = (await stat(join(work, 'release/big'))).size;
  expect(onDisk).toBeLessThan(2 * mebibyte);
  expect(error).toBeInstanceOf(StepError);
  expect(error.message).toBe(
    `${join(work, 'release/big')} holds ${onDisk} of its ${2 * mebibyte} bytes after extraction: the file system filled up ` +
      'while it was written (a short write); free some space (df -h) and run again',
  );
});

it('passes files whose sizes are whole', async () => {
  const archive = tar([{ path: 'small', content: Buffer.alloc(100 * 1024, 'x') }]);
  await expect(extractTar(Readable.from([archive]), join(work, 'release'), new EntryPolicy({ maxBytes: 10 * mebibyte, maxEntries: 10 }))).resolves.toEqual({
    entries: 1,
    bytes: 100 * 1024,
  });
});
