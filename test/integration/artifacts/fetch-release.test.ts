// fetchRelease on real files with an in-memory store: reuse, verification, hostile archives, retries, cleanup.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fetchRelease, type FetchReleaseOptions, type ReleaseMarker } from '../../../src/artifacts/fetch-release.js';
import { ReleaseChangedError, type ArtifactStore, type ReleaseBody } from '../../../src/artifacts/store.js';
import { ArtifactError, AwsError } from '../../../src/errors.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { releaseTarGz, sha256, tar, tarGz, type TestEntry } from '../../helpers/archives.js';
import { failure } from '../../helpers/failure.js';

const key = 'deploy/myapp/releases/1.0.tar.gz';
const url = `s3://bucket/${key}`;

/** A store serving one release body, honouring ranges on its ETag; each open may be scripted to fail part-way. */
class MemoryStore implements ArtifactStore {
  readonly bucket = 'bucket';
  opens = 0;
  /** The range of every open, in order (undefined for a whole-object read). */
  readonly ranges: ({ start: number; etag: string } | undefined)[] = [];
  /** Per open (by index): how the body behaves; missing means the whole body, intact. */
  readonly plans: ('reset-midway' | 'end-midway' | 'ignore-range')[] = [];
  etag = '"etag"';
  /** Run when a body is opened, before it is returned. */
  onOpen: (() => Promise<void>) | undefined;

  constructor(public release: Buffer) {}

  url(objectKey: string): string {
    return `s3://${this.bucket}/${objectKey}`;
  }

  async readPointer(): Promise<never> {
    throw new Error('not used');
  }

  async openRelease(_key: string, range?: { start: number; etag: string }): Promise<ReleaseBody> {
    const plan = this.plans[this.opens];
    this.opens += 1;
    this.ranges.push(range);
    await this.onOpen?.();
    if (range !== undefined && range.etag !== this.etag) throw new ReleaseChangedError('changed');
    const served = plan === 'ignore-range' ? this.release : this.release.subarray(range?.start ?? 0);
    const half = served.subarray(0, Math.floor(served.length / 2));
    const rest = served.subarray(half.length);
    let body: Readable;
    if (plan === 'reset-midway') {
      body = Readable.from(
        (async function* () {
          yield half;
          throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        })(),
      );
    } else if (plan === 'end-midway') {
      body = Readable.from([half]);
    } else {
      body = Readable.from([half, rest]);
    }
    return { body, size: served.length, etag: this.etag };
  }
}

let root: string;
let releasesDir: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pulldeploy-fetch-'));
  releasesDir = join(root, 'srv/myapp/releases');
  // A sibling of the release tree that hostile archives aim at.
  outside = join(root, 'outside');
  await mkdir(outside, { recursive: true });
  await mkdir(releasesDir, { recursive: true });
  await writeFile(join(outside, 'victim'), 'untouched');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

function options(store: ArtifactStore, release: Buffer, overrides: Partial<FetchReleaseOptions> = {}): FetchReleaseOptions {
  return {
    store,
    key,
    version: '1.0',
    sha256: sha256(release),
    releasesDir,
    limits: { maxBytes: 10_000_000, maxEntries: 1_000 },
    attempts: 3,
    logger: createMemoryLogger(),
    retryDelayMs: 1,
    ...overrides,
  };
}

/** Everything under `dir`, recursively, as sorted relative paths. */
async function listTree(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true })) as string[]).sort();
}

describe('fetchRelease: the normal path', () => {
  const release = releaseTarGz({ 'hooks/pre-release/10-migrate': '#!/bin/sh\n', 'salt/config/states/top.sls': 'base: {}\n' });

  it('extracts the release into releases/<version> with a marker, leaving nothing else behind', async () => {
    const store = new MemoryStore(release);
    const logger = createMemoryLogger();
    const result = await fetchRelease(options(store, release, { logger }));

    const dir = join(releasesDir, '1.0');
    expect(result).toEqual({ dir, reused: false, bytes: release.length });
    expect(await readFile(join(dir, 'salt/config/states/top.sls'), 'utf8')).toBe('base: {}\n');
    const marker = JSON.parse(await readFile(join(dir, '.pulldeploy-release.json'), 'utf8')) as ReleaseMarker;
    expect(marker).toEqual({ format: 1, version: '1.0', sha256: sha256(release), bytes: release.length, fetched_at: expect.any(String) });
    expect(Date.parse(marker.fetched_at)).not.toBeNaN();
    expect((await stat(dir)).mode & 0o777).toBe(0o755);
    expect(await readdir(releasesDir)).toEqual(['1.0']);
    const line = logger.lines.find((entry) => entry.level === 'verbose' && entry.message.startsWith(`fetched ${url}`));
    expect(line?.message).toMatch(new RegExp(`^fetched ${url}: ${release.length} bytes, 7 entries \\(19 bytes extracted\\) in \\d+ ms$`));
    expect(line?.fields).toMatchObject({ bytes: release.length, entries: 7, duration_ms: expect.any(Number) });
  });

  it('flushes what is extracted so far while the download goes on, then the whole tree once more', async () => {
    // A sync on the PATH that records what it was asked to flush, and takes its time.
    const bin = join(root, 'bin');
    const calls = join(root, 'sync-calls');
    await mkdir(bin);
    await writeFile(join(bin, 'sync'), `#!/bin/sh\necho "$*" >> '${calls}'\nsleep 0.3\n`, { mode: 0o755 });
    vi.stubEnv('PATH', `${bin}:${process.env.PATH ?? ''}`);
    const large = releaseTarGz({ 'app/data.bin': randomBytes(200_000).toString('base64') });
    await fetchRelease(options(new MemoryStore(large), large, { writebackEveryBytes: 1 }));

    const flushed = (await readFile(calls, 'utf8')).trim().split('\n');
    // One early flush after the first half of the body (the second half arrives while it still runs), then the final one.
    expect(flushed).toHaveLength(2);
    for (const call of flushed) expect(call).toMatch(new RegExp(`^--file-system ${releasesDir}/\\.incoming-1\\.0-\\d+-\\w+$`));
  });

  it('reuses a release already present with the same sha256, without downloading', async () => {
    const store = new MemoryStore(release);
    await fetchRelease(options(store, release));
    const again = await fetchRelease(options(store, release));

    expect(again).toEqual({ dir: join(releasesDir, '1.0'), reused: true, bytes: release.length });
    expect(store.opens).toBe(1);
  });

  it('replaces a leftover directory that has no marker', async () => {
    await mkdir(join(releasesDir, '1.0'), { recursive: true });
    await writeFile(join(releasesDir, '1.0/half-written'), 'x');
    const store = new MemoryStore(release);
    const logger = createMemoryLogger();
    const result = await fetchRelease(options(store, release, { logger }));

    expect(result.reused).toBe(false);
    expect(await listTree(join(releasesDir, '1.0'))).not.toContain('half-written');
    expect(await readdir(releasesDir)).toEqual(['1.0']);
    expect(logger.lines).toContainEqual({
      level: 'warn',
      message: `${join(releasesDir, '1.0')} is not a verified copy of ${url} (no marker, or another sha256): replacing it once the download is verified`,
    });
  });

  it('keeps a directory with another sha256 in place when the new download fails, so a link to it never dangles', async () => {
    const store = new MemoryStore(release);
    await fetchRelease(options(store, release));
    const other = releaseTarGz({ 'other.txt': 'other' });
    store.release = other;
    const error = await fetchRelease(options(store, other, { sha256: 'f'.repeat(64) })).catch((e) => e);

    expect(error).toBeInstanceOf(ArtifactError);
    expect(await readdir(releasesDir)).toEqual(['1.0']);
    expect(await readFile(join(releasesDir, '1.0/.pulldeploy-release.json'), 'utf8')).toContain(sha256(release));
  });

  it('replaces a directory whose marker records another sha256', async () => {
    const store = new MemoryStore(release);
    await fetchRelease(options(store, release));
    const other = releaseTarGz({ 'other.txt': 'other' });
    store.release = other;
    const result = await fetchRelease(options(store, other));

    expect(result.reused).toBe(false);
    expect(await readFile(join(releasesDir, '1.0/other.txt'), 'utf8')).toBe('other');
    expect(store.opens).toBe(2);
  });

  it('keeps the release another run placed first when its marker matches', async () => {
    const store = new MemoryStore(release);
    const marker: ReleaseMarker = { format: 1, version: '1.0', sha256: sha256(release), bytes: release.length, fetched_at: '2026-01-01T00:00:00Z' };
    store.onOpen = async () => {
      await mkdir(join(releasesDir, '1.0'), { recursive: true });
      await writeFile(join(releasesDir, '1.0/.pulldeploy-release.json'), JSON.stringify(marker));
      await writeFile(join(releasesDir, '1.0/theirs'), 'x');
    };
    const result = await fetchRelease(options(store, release));

    expect(result).toEqual({ dir: join(releasesDir, '1.0'), reused: true, bytes: release.length });
    expect(await readdir(join(releasesDir, '1.0'))).toEqual(['.pulldeploy-release.json', 'theirs']);
    expect(await readdir(releasesDir)).toEqual(['1.0']);
  });

  it('refuses an unsafe version before touching the disk', async () => {
    const store = new MemoryStore(release);
    const error = await failure(fetchRelease(options(store, release, { version: '../1.0' })));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(`release version "../1.0" of ${url} cannot be a directory name: fix the pointer`);
    expect(store.opens).toBe(0);
  });
});

describe('fetchRelease: verification', () => {
  it('refuses a release whose digest does not match, naming both digests and the URL', async () => {
    const release = releaseTarGz({ 'a.txt': 'a' });
    const store = new MemoryStore(release);
    const expected = 'ab'.repeat(32);
    const error = await failure(fetchRelease(options(store, release, { sha256: expected })));

    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(
      `release ${url} does not match its pointer: expected sha256 ${expected}, got ${sha256(release)} (${release.length} bytes); ` +
        'republish the release or correct the pointer',
    );
    expect(store.opens).toBe(1);
    expect(await readdir(releasesDir)).toEqual([]);
  });

  it('refuses garbage after the gzip stream', async () => {
    const release = Buffer.concat([releaseTarGz({ 'a.txt': 'a' }), Buffer.from('garbage')]);
    const error = await failure(fetchRelease(options(new MemoryStore(release), release)));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(`release ${url} is not a valid gzip stream (incorrect header check): republish it`);
    expect(await readdir(releasesDir)).toEqual([]);
  });

  it('refuses zeros after the gzip stream, which zlib would ignore quietly', async () => {
    const release = Buffer.concat([releaseTarGz({ 'a.txt': 'a' }), Buffer.alloc(64)]);
    const error = await failure(fetchRelease(options(new MemoryStore(release), release)));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(`release ${url} has 64 bytes of trailing data after its gzip stream: it is damaged; republish it`);
    expect(await readdir(releasesDir)).toEqual([]);
  });

  it('refuses a body that is not gzip', async () => {
    const release = tar([{ path: 'a', content: 'a' }]);
    const error = await failure(fetchRelease(options(new MemoryStore(release), release)));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(`release ${url} is not a valid gzip stream (incorrect header check): republish it`);
  });

  it('refuses a release that ships its own marker file', async () => {
    const release = releaseTarGz({ '.pulldeploy-release.json': '{"format":1}' });
    const error = await failure(fetchRelease(options(new MemoryStore(release), release)));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toBe(`release ${url} contains .pulldeploy-release.json, a name pulldeploy keeps for itself: remove it and republish`);
    expect(await readdir(releasesDir)).toEqual([]);
  });

  it('stops a gzip bomb at the expansion limit instead of inflating all of it', async () => {
    // 64 MiB of zeros after the end-of-archive marker compress to about 64 KiB.
    const release = gzipSync(Buffer.concat([tar([{ path: 'a', content: 'a' }]), Buffer.alloc(64 * 1024 * 1024)]));
    const error = await failure(fetchRelease(options(new MemoryStore(release), release, { limits: { maxBytes: 1_000, maxEntries: 10 } })));
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toMatch(new RegExp(`^release ${url}: the archive expands to more than \\d+ bytes`));
    expect(await readdir(releasesDir)).toEqual([]);
  });
});

describe('fetchRelease: hostile archives', () => {
  const hostile: [string, TestEntry[], string][] = [
    ['an absolute path', [{ path: '/etc/cron.d/pwned', content: 'x' }], 'refusing entry "/etc/cron.d/pwned": its path is absolute'],
    ['a parent path', [{ path: '../../../outside/pwned', content: 'x' }], 'refusing entry "../../../outside/pwned": its path contains ".."'],
    [
      'a symlink to / with a file written through it',
      [
        { path: 'root', type: 'symlink', linkpath: '/' },
        { path: 'root/tmp/pwned', content: 'x' },
      ],
      'refusing entry "root": the symlink target "/" is absolute, outside the release',
    ],
    [
      'a relative symlink out of the release with a file written through it',
      [
        { path: 'up', type: 'symlink', linkpath: '../../../../outside' },
        { path: 'up/pwned', content: 'x' },
      ],
      'refusing entry "up": the symlink target "../../../../outside" resolves outside the release',
    ],
    [
      'a file written through an inside symlink',
      [
        { path: 'real/', type: 'directory' },
        { path: 'link', type: 'symlink', linkpath: 'real' },
        { path: 'link/pwned', content: 'x' },
      ],
      'refusing entry "link/pwned": it would be written through the symlink "link"',
    ],
    ['a hardlink to /etc/passwd', [{ path: 'passwd', type: 'hardlink', linkpath: '/etc/passwd' }], 'refusing entry "passwd": the hardlink target "/etc/passwd" is absolute'],
    [
      'a hardlink out through ..',
      [{ path: 'victim', type: 'hardlink', linkpath: '../../../../outside/victim' }],
      'refusing entry "victim": the hardlink target "../../../../outside/victim" contains ".."',
    ],
    ['a character device', [{ path: 'null', type: 'character-device' }], 'refusing entry "null": it is a character device'],
    ['a block device', [{ path: 'sda', type: 'block-device' }], 'refusing entry "sda": it is a block device'],
    ['a FIFO', [{ path: 'pipe', type: 'fifo' }], 'refusing entry "pipe": it is a FIFO'],
    [
      'a 3-hop symlink chain',
      [
        { path: 'sub/', type: 'directory' },
        { path: 'l1', type: 'symlink', linkpath: 'sub' },
        { path: 'l2', type: 'symlink', linkpath: 'l1/..' },
        { path: 'l3', type: 'symlink', linkpath: 'l2/..' },
        { path: 'l3/outside/pwned', content: 'x' },
      ],
      'refusing entry "l3": the symlink target "l2/.." resolves outside the release',
    ],
  ];

  it.each(hostile)('refuses %s, writes nothing outside and leaves no incoming directory', async (_name, entries, problem) => {
    const release = tarGz([{ path: 'harmless', content: 'x' }, ...entries]);
    const before = await listTree(root);
    const error = await failure(fetchRelease(options(new MemoryStore(release), release)));

    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toContain(`release ${url}: ${problem}`);
    expect(await readdir(releasesDir)).toEqual([]);
    expect(await listTree(root)).toEqual(before);
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('untouched');
    await expect(lstat('/tmp/pwned')).rejects.toThrow(/ENOENT/);
  });
});

describe('fetchRelease: network failures', () => {
  const release = releaseTarGz({ 'a.txt': 'a'.repeat(10_000) });
  const half = Math.floor(release.length / 2);

  it('resumes after a connection reset mid-body from the byte where it broke off, on the same ETag, with a warning', async () => {
    const store = new MemoryStore(release);
    store.plans.push('reset-midway');
    const logger = createMemoryLogger();
    const result = await fetchRelease(options(store, release, { logger }));

    expect(result.reused).toBe(false);
    expect(store.opens).toBe(2);
    expect(store.ranges).toEqual([undefined, { start: half, etag: '"etag"' }]);
    expect(await readFile(join(releasesDir, '1.0/a.txt'), 'utf8')).toBe('a'.repeat(10_000));
    expect(await readdir(releasesDir)).toEqual(['1.0']);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      `download of ${url} broke off after ${half} of ${release.length} bytes (read ECONNRESET); resuming from there in 1 ms (attempt 2 of 3)`,
    ]);
  });

  it('resumes when the body ends short of its announced size', async () => {
    const store = new MemoryStore(release);
    store.plans.push('end-midway');
    const logger = createMemoryLogger();
    await fetchRelease(options(store, release, { logger }));

    expect(store.opens).toBe(2);
    expect(store.ranges[1]).toEqual({ start: half, etag: '"etag"' });
    expect(logger.lines.find((line) => line.level === 'warn')?.message).toContain(
      `(the body of ${url} ended after ${half} of ${release.length} bytes)`,
    );
  });

  it('resumes again and again across several drops, counting every connection', async () => {
    const store = new MemoryStore(release);
    store.plans.push('reset-midway', 'reset-midway', 'end-midway');
    const result = await fetchRelease(options(store, release, { attempts: 4 }));

    expect(result.bytes).toBe(release.length);
    expect(store.ranges.map((range) => range?.start)).toEqual([
      undefined,
      half,
      half + Math.floor((release.length - half) / 2),
      expect.any(Number),
    ]);
    expect(await readFile(join(releasesDir, '1.0/a.txt'), 'utf8')).toBe('a'.repeat(10_000));
  });

  it('starts again from the first byte when the object changed between connections', async () => {
    const store = new MemoryStore(release);
    store.plans.push('reset-midway');
    store.onOpen = async () => {
      if (store.opens === 2) store.etag = '"new-etag"';
    };
    const logger = createMemoryLogger();
    await fetchRelease(options(store, release, { logger }));

    expect(store.ranges).toEqual([undefined, { start: half, etag: '"etag"' }, undefined]);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)[1]).toBe(
      `${url} changed while it was being downloaded (its ETag is no longer "etag"); downloading it again from the start in 1 ms (attempt 3 of 3)`,
    );
    expect(await readdir(releasesDir)).toEqual(['1.0']);
  });

  it('starts again from the first byte when the store ignores the range, never splicing in the wrong bytes', async () => {
    const store = new MemoryStore(release);
    store.plans.push('reset-midway', 'ignore-range');
    const logger = createMemoryLogger();
    await fetchRelease(options(store, release, { logger }));

    expect(store.ranges).toEqual([undefined, { start: half, etag: '"etag"' }, undefined]);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)[1]).toBe(
      `${url} answered a request for bytes ${half}- with ${release.length} bytes instead of ${release.length - half}; ` +
        'downloading it again from the start in 1 ms (attempt 3 of 3)',
    );
    expect(await readFile(join(releasesDir, '1.0/a.txt'), 'utf8')).toBe('a'.repeat(10_000));
  });

  it('gives up after the configured attempts with an AWS error, leaving nothing behind', async () => {
    const store = new MemoryStore(release);
    store.plans.push('reset-midway', 'reset-midway', 'reset-midway');
    const error = await failure(fetchRelease(options(store, release)));

    expect(error).toBeInstanceOf(AwsError);
    expect(error.message).toBe(`download of ${url} failed after 3 attempts: read ECONNRESET`);
    expect(error.cause).toMatchObject({ code: 'ECONNRESET' });
    expect(store.opens).toBe(3);
    expect(await readdir(releasesDir)).toEqual([]);
  });

  it('does not retry a digest mismatch', async () => {
    const store = new MemoryStore(release);
    await failure(fetchRelease(options(store, release, { sha256: '00'.repeat(32) })));
    expect(store.opens).toBe(1);
  });

  it('abandons a body that stops sending and resumes it', async () => {
    const store = new MemoryStore(release);
    const ranges: ({ start: number; etag: string } | undefined)[] = [];
    store.openRelease = async (_key, range) => {
      store.opens += 1;
      ranges.push(range);
      if (range === undefined) {
        // The first 100 bytes, then silence.
        const stalled = new Readable({ read() {} });
        stalled.push(release.subarray(0, 100));
        return { body: stalled, size: release.length, etag: '"etag"' };
      }
      return { body: Readable.from([release.subarray(range.start)]), size: release.length - range.start, etag: '"etag"' };
    };
    const logger = createMemoryLogger();
    await fetchRelease(options(store, release, { logger, idleTimeoutMs: 50 }));

    expect(ranges).toEqual([undefined, { start: 100, etag: '"etag"' }]);
    expect(logger.lines.find((line) => line.level === 'warn')?.message).toBe(
      `download of ${url} broke off after 100 of ${release.length} bytes (no data from ${url} for 50 ms, ETIMEDOUT); resuming from there in 1 ms (attempt 2 of 3)`,
    );
  });

  it('does not count time the extraction keeps the body waiting as a stalled connection', async () => {
    // Many files of random bytes, served in small chunks: the extraction is far slower than the in-memory body,
    // which waits on it (backpressure) for much longer than the idle timeout in all.
    const files = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`f/${i}.txt`, randomBytes(2_000).toString('base64')]));
    const big = releaseTarGz(files);
    const store = new MemoryStore(big);
    store.openRelease = async () => {
      store.opens += 1;
      const chunks = Array.from({ length: Math.ceil(big.length / 4096) }, (_, i) => big.subarray(i * 4096, (i + 1) * 4096));
      return { body: Readable.from(chunks), size: big.length, etag: '"etag"' };
    };
    const logger = createMemoryLogger();
    const started = Date.now();
    await fetchRelease(options(store, big, { logger, idleTimeoutMs: 20 }));
    expect(Date.now() - started).toBeGreaterThan(100);
    expect(store.opens).toBe(1);
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });
});
