// extractTar on a file system that fills up: a write(2) cut short by a full disk is written again until the file
// system says ENOSPC, so a file is never left truncated without an error.
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EntryPolicy } from '../../../src/artifacts/entry-policy.js';
import { extractTar } from '../../../src/artifacts/extract.js';
import { errorCode } from '../../../src/errors.js';
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

it('fails with the file system\'s ENOSPC when the disk fills up in the middle of a write, never with a short file', async () => {
  // In one chunk the whole file is one write(2), which the 1 MiB disk cuts short; the rest is written again and fails.
  const archive = tar([{ path: 'big', content: Buffer.alloc(2 * mebibyte, 'x') }]);
  const error = await failure(extractTar(Readable.from([archive]), join(work, 'release'), new EntryPolicy({ maxBytes: 10 * mebibyte, maxEntries: 10 })));

  expect((await stat(join(work, 'release/big'))).size).toBeLessThan(2 * mebibyte);
  expect(errorCode(error)).toBe('ENOSPC');
  expect(error.message).toContain('no space left on device');
});

it('passes files whose sizes are whole', async () => {
  const archive = tar([{ path: 'small', content: Buffer.alloc(100 * 1024, 'x') }]);
  await expect(extractTar(Readable.from([archive]), join(work, 'release'), new EntryPolicy({ maxBytes: 10 * mebibyte, maxEntries: 10 }))).resolves.toEqual({
    entries: 1,
    bytes: 100 * 1024,
  });
});
