// pack: identical bytes whatever the umask, mtimes and creation order; the agent's extractor takes the result; unsafe trees are refused.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryPolicy } from '../../../src/artifacts/entry-policy.js';
import { extractTar } from '../../../src/artifacts/extract.js';
import { ArtifactError, UsageError } from '../../../src/errors.js';
import { createMemoryLogger } from '../../../src/log/logger.js';
import { packDirectory, packMtime } from '../../../src/publish/pack.js';
import { failure } from '../../helpers/failure.js';

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'pulldeploy-pack-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const longDir = 'd'.repeat(120);

/** Builds the same release tree with a shell, under `umask`, creating files in the given order, all dated `epoch`. */
function buildTree(dir: string, options: { umask: string; reverse: boolean; epoch: number; executable: string }): void {
  const steps = [
    `mkdir -p hooks/pre-release hooks/post-release salt/config/states salt/config/pillar bin empty ${longDir}`,
    `printf '#!/bin/sh\\nexit 0\\n' > hooks/pre-release/10-check && chmod ${options.executable} hooks/pre-release/10-check`,
    `printf 'notes\\n' > hooks/post-release/README`,
    `printf 'base:\\n  "*": []\\n' > salt/config/states/top.sls`,
    `printf '#!/bin/sh\\n' > bin/tool && chmod ${options.executable} bin/tool`,
    `printf 'deep\\n' > ${longDir}/${'f'.repeat(110)}`,
    'ln -s salt/config config',
    'ln -s ../states/top.sls salt/config/pillar/top.sls',
  ];
  const ordered = options.reverse ? [steps[0], ...steps.slice(1).reverse()] : steps;
  const script = [`umask ${options.umask}`, `mkdir -p "${dir}"`, `cd "${dir}"`, ...ordered, `find . -exec touch -h -d @${options.epoch} {} +`].join('\n');
  execFileSync('sh', ['-c', script]);
}

const logger = () => createMemoryLogger();
const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

async function listArchive(file: string): Promise<{ path: string; type: string; mode: number | undefined; mtime: number | undefined; linkpath?: string }[]> {
  const entries: { path: string; type: string; mode: number | undefined; mtime: number | undefined; linkpath?: string }[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      entries.push({
        path: entry.path,
        type: entry.type,
        mode: entry.mode,
        mtime: entry.mtime ? entry.mtime.getTime() / 1000 : undefined,
        ...(entry.linkpath ? { linkpath: entry.linkpath } : {}),
      });
      entry.resume();
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    createReadStream(file).pipe(createGunzip()).pipe(parser);
  });
  return entries;
}

describe('packDirectory', () => {
  it('gives byte-identical tarballs across umasks, mtimes and creation orders, and the same bytes twice', async () => {
    buildTree(join(work, 'one'), { umask: '022', reverse: false, epoch: 1_600_000_000, executable: '755' });
    buildTree(join(work, 'two'), { umask: '077', reverse: true, epoch: 1_750_000_000, executable: 'u+x' });
    const first = await packDirectory({ dir: join(work, 'one'), output: join(work, 'one.tar.gz'), mtime: 0, logger: logger() });
    const second = await packDirectory({ dir: join(work, 'two'), output: join(work, 'two.tar.gz'), mtime: 0, logger: logger() });
    const again = await packDirectory({ dir: join(work, 'one'), output: join(work, 'again.tar.gz'), mtime: 0, logger: logger() });
    expect(await readFile(join(work, 'two.tar.gz'))).toEqual(await readFile(join(work, 'one.tar.gz')));
    expect(await readFile(join(work, 'again.tar.gz'))).toEqual(await readFile(join(work, 'one.tar.gz')));
    expect(second.sha256).toBe(first.sha256);
    expect(again.sha256).toBe(first.sha256);
    expect(first.sha256).toBe(await sha256(join(work, 'one.tar.gz')));
    expect(first.size).toBe((await readFile(join(work, 'one.tar.gz'))).length);
  });

  it('orders entries by name, each directory first, with normalised modes and the fixed mtime', async () => {
    buildTree(join(work, 'tree'), { umask: '077', reverse: true, epoch: 1_600_000_000, executable: 'u+x' });
    await packDirectory({ dir: join(work, 'tree'), output: join(work, 'out.tar.gz'), mtime: 1_700_000_000, logger: logger() });
    const entries = await listArchive(join(work, 'out.tar.gz'));
    expect(entries.map(({ path, type, mode }) => `${type} ${mode?.toString(8)} ${path}`)).toEqual([
      'Directory 755 bin/',
      'File 755 bin/tool',
      'SymbolicLink 777 config',
      `Directory 755 ${longDir}/`,
      `File 644 ${longDir}/${'f'.repeat(110)}`,
      'Directory 755 empty/',
      'Directory 755 hooks/',
      'Directory 755 hooks/post-release/',
      'File 644 hooks/post-release/README',
      'Directory 755 hooks/pre-release/',
      'File 755 hooks/pre-release/10-check',
      'Directory 755 salt/',
      'Directory 755 salt/config/',
      'Directory 755 salt/config/pillar/',
      'SymbolicLink 777 salt/config/pillar/top.sls',
      'Directory 755 salt/config/states/',
      'File 644 salt/config/states/top.sls',
    ]);
    expect(new Set(entries.map((entry) => entry.mtime))).toEqual(new Set([1_700_000_000]));
  });

  it('makes a tarball the agent extracts, with the same contents and links', async () => {
    buildTree(join(work, 'tree'), { umask: '022', reverse: false, epoch: 1_600_000_000, executable: '755' });
    await packDirectory({ dir: join(work, 'tree'), output: join(work, 'out.tar.gz'), mtime: 0, logger: logger() });
    const target = join(work, 'extracted');
    await mkdir(target);
    await extractTar(createReadStream(join(work, 'out.tar.gz')).pipe(createGunzip()), target, new EntryPolicy({ maxBytes: 1e9, maxEntries: 1000 }));
    expect(execFileSync('diff', ['-r', '--no-dereference', join(work, 'tree'), target]).toString()).toBe('');
  });

  it('packs hard links as separate copies of the file', async () => {
    const dir = join(work, 'tree');
    execFileSync('sh', ['-c', `mkdir -p "${dir}" && cd "${dir}" && printf same > a && ln a b`]);
    await packDirectory({ dir, output: join(work, 'out.tar.gz'), mtime: 0, logger: logger() });
    expect((await listArchive(join(work, 'out.tar.gz'))).map((entry) => `${entry.type} ${entry.path}`)).toEqual(['File a', 'File b']);
  });

  it('warns about hooks that are not executable, and about nothing else', async () => {
    buildTree(join(work, 'tree'), { umask: '022', reverse: false, epoch: 1_600_000_000, executable: '755' });
    await writeFile(join(work, 'tree', 'salt', 'notes.txt'), 'not a hook');
    const log = logger();
    await packDirectory({ dir: join(work, 'tree'), output: join(work, 'out.tar.gz'), mtime: 0, logger: log });
    expect(log.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      `hooks/post-release/README is not executable: the agent skips it; run "chmod +x ${join(work, 'tree', 'hooks/post-release/README')}" if it is meant to run`,
    ]);
  });

  describe('refuses, writing nothing', () => {
    async function refused(setup: string, message: RegExp | string, errorClass: typeof ArtifactError | typeof UsageError = ArtifactError): Promise<void> {
      const dir = join(work, 'tree');
      execFileSync('sh', ['-c', `mkdir -p "${dir}" && cd "${dir}" && mkdir -p sub && printf x > sub/file && ${setup}`]);
      const error = await failure(packDirectory({ dir, output: join(work, 'out.tar.gz'), mtime: 0, logger: logger() }));
      expect(error).toBeInstanceOf(errorClass);
      if (typeof message === 'string') expect(error.message).toBe(message);
      else expect(error.message).toMatch(message);
      expect((await readdir(work)).sort()).toEqual(['tree']);
    }

    it('a symlink leading outside the directory', async () => {
      await refused(
        'ln -s ../../etc/passwd sub/escape',
        `cannot pack ${join(work, 'tree')}: refusing entry "sub/escape": the symlink target "../../etc/passwd" resolves outside the release; a release may only link to paths inside itself`,
      );
    });

    it('an absolute symlink', async () => {
      await refused('ln -s /etc/passwd sub/absolute', /refusing entry "sub\/absolute": the symlink target "\/etc\/passwd" is absolute, outside the release/);
    });

    it('a symlink that escapes only through another link', async () => {
      await refused('ln -s . here && ln -s here/.. up', /refusing entry "up": the symlink target "here\/\.\." resolves outside the release/);
    });

    it('a FIFO', async () => {
      await refused('mkfifo sub/pipe', `cannot pack ${join(work, 'tree', 'sub', 'pipe')}: it is a FIFO; a release holds only regular files, directories and symlinks`);
    });
  });

  it('refuses an output inside the directory, a missing directory, and a file given as the directory', async () => {
    const dir = join(work, 'tree');
    await mkdir(dir);
    const inside = await failure(packDirectory({ dir, output: join(dir, 'self.tar.gz'), mtime: 0, logger: logger() }));
    expect(inside).toBeInstanceOf(UsageError);
    expect(inside.message).toBe(`the output ${join(dir, 'self.tar.gz')} is inside ${dir}: it would pack itself; write it outside the directory`);
    const missing = await failure(packDirectory({ dir: join(work, 'nope'), output: join(work, 'out.tar.gz'), mtime: 0, logger: logger() }));
    expect(missing.message).toBe(`cannot pack ${join(work, 'nope')}: no such directory`);
    await writeFile(join(work, 'file'), 'x');
    const file = await failure(packDirectory({ dir: join(work, 'file'), output: join(work, 'out.tar.gz'), mtime: 0, logger: logger() }));
    expect(file.message).toBe(`${join(work, 'file')} is not a directory: pack takes the directory a release is made of`);
    const noParent = await failure(packDirectory({ dir, output: join(work, 'no', 'out.tar.gz'), mtime: 0, logger: logger() }));
    expect(noParent.message).toBe(`cannot write ${join(work, 'no', 'out.tar.gz')}: its directory ${join(work, 'no')} does not exist`);
    expect((await readdir(work)).sort()).toEqual(['file', 'tree']);
  });
});

describe('packMtime', () => {
  it('is SOURCE_DATE_EPOCH when set, else 0', () => {
    expect(packMtime(undefined)).toBe(0);
    expect(packMtime('')).toBe(0);
    expect(packMtime('1700000000')).toBe(1_700_000_000);
  });

  it.each(['-1', '1.5', 'yesterday', '123456789012'])('refuses SOURCE_DATE_EPOCH=%s', (value) => {
    expect(() => packMtime(value)).toThrow(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got ${JSON.stringify(value)}`);
  });
});
