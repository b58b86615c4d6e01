// extractTar on real files: what a normal release becomes on disk, and what node-tar would have let through.
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryPolicy } from '../../../src/artifacts/entry-policy.js';
import { extractTar, tarStreamLimit } from '../../../src/artifacts/extract.js';
import { ArtifactError } from '../../../src/errors.js';
import { releaseEntries, tar, type TestEntry } from '../../helpers/archives.js';

const limits = { maxBytes: 10_000_000, maxEntries: 1_000 };
let root: string;
let dir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pulldeploy-extract-'));
  dir = join(root, 'release');
  await mkdir(dir);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The stream in chunks of `chunkSize`, as a network and gunzip would deliver it. */
function streamOf(buffer: Buffer, chunkSize = 4096): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < buffer.length; offset += chunkSize) chunks.push(buffer.subarray(offset, offset + chunkSize));
  return Readable.from(chunks);
}

async function refusal(archive: Buffer, policyLimits = limits): Promise<string> {
  const error: unknown = await extractTar(streamOf(archive), dir, new EntryPolicy(policyLimits)).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ArtifactError);
  return (error as Error).message;
}

describe('extractTar: a normal release', () => {
  it('writes files, directories and links, and counts entries and content bytes', async () => {
    const entries: TestEntry[] = [
      ...releaseEntries({ 'hooks/pre-release/10-migrate': '#!/bin/sh\necho hi\n', 'app/config.yaml': 'a: 1\n' }),
      { path: 'app/current.yaml', type: 'symlink', linkpath: 'config.yaml' },
      { path: 'app/copy.yaml', type: 'hardlink', linkpath: 'app/config.yaml' },
    ];
    const result = await extractTar(streamOf(tar(entries)), dir, new EntryPolicy(limits));

    expect(result).toEqual({ entries: 7, bytes: 18 + 5 });
    expect(await readFile(join(dir, 'hooks/pre-release/10-migrate'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(await readlink(join(dir, 'app/current.yaml'))).toBe('config.yaml');
    expect(await readFile(join(dir, 'app/current.yaml'), 'utf8')).toBe('a: 1\n');
    expect((await stat(join(dir, 'app/copy.yaml'))).ino).toBe((await stat(join(dir, 'app/config.yaml'))).ino);
  });

  it('clears setuid, setgid and sticky bits on disk', async () => {
    await extractTar(
      streamOf(
        tar([
          { path: 'suid', content: 'x', mode: 0o4755 },
          { path: 'sgid', content: 'x', mode: 0o2755 },
          { path: 'sticky/', type: 'directory', mode: 0o1777 },
        ]),
      ),
      dir,
      new EntryPolicy(limits),
    );
    const umask = process.umask();
    expect((await stat(join(dir, 'suid'))).mode & 0o7777).toBe(0o755 & ~umask);
    expect((await stat(join(dir, 'sgid'))).mode & 0o7777).toBe(0o755 & ~umask);
    expect((await stat(join(dir, 'sticky'))).mode & 0o7000).toBe(0);
  });

  it('leaves files owned by the running user, whatever the archive says', async () => {
    await extractTar(streamOf(tar([{ path: 'file', content: 'x', uid: 4321, gid: 4321 }])), dir, new EntryPolicy(limits));
    const info = await stat(join(dir, 'file'));
    expect(info.uid).toBe(process.getuid!());
    expect(info.gid).toBe(process.getgid!());
  });

  it('accepts padding after the end-of-archive marker without handing it to node-tar', async () => {
    const archive = Buffer.concat([tar([{ path: 'a', content: 'x' }]), Buffer.alloc(20 * 512)]);
    await expect(extractTar(streamOf(archive, 512), dir, new EntryPolicy(limits))).resolves.toEqual({ entries: 1, bytes: 1 });
  });

  it('reads paths longer than 100 bytes from pax headers and checks them', async () => {
    const long = `${'d'.repeat(90)}/${'f'.repeat(90)}`;
    await extractTar(streamOf(tar([{ path: long, content: 'deep' }])), dir, new EntryPolicy(limits));
    expect(await readFile(join(dir, long), 'utf8')).toBe('deep');
    expect(await refusal(tar([{ path: `${'d'.repeat(120)}/../../escape`, content: 'x' }]))).toContain('its path contains ".."');
  });
});

describe('extractTar: refusals the policy makes before node-tar writes', () => {
  it('refuses an absolute path, which node-tar would only strip with a warning', async () => {
    expect(await refusal(tar([{ path: '/etc/evil', content: 'x' }]))).toBe('refusing entry "/etc/evil": its path is absolute');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses "..", which node-tar would only skip with a warning', async () => {
    expect(await refusal(tar([{ path: 'ok', content: 'x' }, { path: '../evil', content: 'x' }]))).toBe(
      'refusing entry "../evil": its path contains ".."',
    );
    expect(await readdir(root)).toEqual(['release']);
  });

  it('refuses a FIFO, which node-tar would only skip with a warning', async () => {
    expect(await refusal(tar([{ path: 'pipe', type: 'fifo' }]))).toContain('refusing entry "pipe": it is a FIFO');
  });

  it('stops at the first refused entry and writes nothing after it', async () => {
    const archive = tar([{ path: 'before', content: 'x' }, { path: 'dev', type: 'character-device' }, { path: 'after', content: 'x' }]);
    expect(await refusal(archive)).toContain('refusing entry "dev": it is a character device');
    expect(await readdir(dir)).not.toContain('after');
  });
});

describe('extractTar: what node-tar would skip silently or accept', () => {
  it('refuses an entry type node-tar ignores without a warning (GNU sparse file)', async () => {
    expect(await refusal(tar([{ path: 'sparse', type: 'S', content: 'x' }]))).toBe(
      'refusing entry "sparse": its type SparseFile cannot be extracted safely',
    );
  });

  it('refuses a tar inside a gzip inside the gzip, which node-tar would decompress on its own', async () => {
    expect(await refusal(gzipSync(tar([{ path: 'a', content: 'x' }])))).toBe(
      'the archive is compressed twice (a .tar.gz inside the .tar.gz): publish a single gzip tar',
    );
  });

  it('refuses a header with a bad checksum instead of skipping it', async () => {
    const archive = tar([{ path: 'a', content: 'x' }]);
    archive[0] = 'b'.charCodeAt(0);
    expect(await refusal(archive)).toMatch(/^the archive cannot be extracted: .*checksum failure/);
  });

  it('refuses a truncated archive', async () => {
    const archive = tar([{ path: 'a', content: 'x'.repeat(5000) }]).subarray(0, 2048);
    expect(await refusal(archive)).toMatch(/^the archive cannot be extracted.*: .*Truncated input/);
  });

  it('refuses a stream that is not a tar at all', async () => {
    expect(await refusal(Buffer.from('hello, this is not a tar archive'))).toMatch(/^the archive cannot be extracted: .*Unrecognized archive format/);
  });
});

describe('extractTar: limits', () => {
  it('stops a stream that expands past the limit even when no entry declares the bytes', async () => {
    const small = { maxBytes: 1_000, maxEntries: 2 };
    const archive = Buffer.concat([tar([{ path: 'a', content: 'x' }]), Buffer.alloc(tarStreamLimit(small) + 512)]);
    expect(await refusal(archive, small)).toBe(
      `the archive expands to more than ${tarStreamLimit(small)} bytes, more than its limits allow (fetch.max_bytes 1000, fetch.max_entries 2)`,
    );
  });

  it('refuses an entry declaring more content than maxBytes before writing it', async () => {
    expect(await refusal(tar([{ path: 'big', content: 'x'.repeat(2_000) }]), { maxBytes: 1_000, maxEntries: 2 })).toBe(
      'refusing entry "big": the archive\'s content exceeds 1000 bytes (fetch.max_bytes)',
    );
    await expect(lstat(join(dir, 'big'))).rejects.toThrow(/ENOENT/);
  });
});

describe('extractTar: the writer, several entries at once', () => {
  it('writes hundreds of files of every size in flight at once, each whole, with the mtime the archive records', async () => {
    const entries: TestEntry[] = Array.from({ length: 300 }, (_, index) => ({
      path: `d${index % 7}/f${index}`,
      // Sizes from empty to 96 KiB, deterministic, far more bytes in all than the writer keeps in flight.
      content: Buffer.alloc((index * 7919) % (96 * 1024), String.fromCharCode(97 + (index % 26))),
    }));
    const result = await extractTar(streamOf(tar(entries), 64 * 1024), dir, new EntryPolicy({ maxBytes: 100_000_000, maxEntries: 1_000 }));

    expect(result.entries).toBe(300);
    for (const entry of entries) {
      const onDisk = await readFile(join(dir, entry.path));
      expect(onDisk.equals(entry.content as Buffer), entry.path).toBe(true);
    }
    expect((await stat(join(dir, 'd3/f10'))).mtimeMs).toBe(1_700_000_000_000);
  });

  it('reads archives made with "tar -C dir ." (entries under "./")', async () => {
    const archive = tar([
      { path: './', type: 'directory' },
      { path: './app/', type: 'directory' },
      { path: './app/run', content: 'x' },
    ]);
    await expect(extractTar(streamOf(archive), dir, new EntryPolicy(limits))).resolves.toEqual({ entries: 3, bytes: 1 });
    expect(await readFile(join(dir, 'app/run'), 'utf8')).toBe('x');
  });

  it('replaces a file named twice by a new file, leaving a hardlink made to the first one as it was', async () => {
    const archive = tar([
      { path: 'a', content: 'first' },
      { path: 'b', type: 'hardlink', linkpath: 'a' },
      { path: 'a', content: 'second' },
    ]);
    await extractTar(streamOf(archive), dir, new EntryPolicy(limits));
    expect(await readFile(join(dir, 'a'), 'utf8')).toBe('second');
    expect(await readFile(join(dir, 'b'), 'utf8')).toBe('first');
  });

  it('refuses a file in place of a directory that already holds entries', async () => {
    const archive = tar([{ path: 'conf/app.yaml', content: 'x' }, { path: 'conf', content: 'not a directory' }]);
    expect(await refusal(archive)).toBe('refusing entry "conf": it would replace a directory that holds other entries of the archive');
    expect(await readFile(join(dir, 'conf/app.yaml'), 'utf8')).toBe('x');
  });

  it('ends with the stream\'s own error when the download breaks in the middle of a file, once every write has stopped', async () => {
    const archive = tar([{ path: 'big', content: Buffer.alloc(200_000, 'x') }]);
    const broken = new Error('connection reset by the test');
    const stream = Readable.from(
      (async function* () {
        yield archive.subarray(0, 100_000);
        throw broken;
      })(),
    );
    await expect(extractTar(stream, dir, new EntryPolicy(limits))).rejects.toBe(broken);
    expect((await stat(join(dir, 'big'))).size).toBeLessThan(200_000);
  });
});
