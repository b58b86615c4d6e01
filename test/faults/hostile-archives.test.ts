// Hostile releases through the whole CLI (reliability suite, issue 6): every trick a tarball can play, built by the
// test itself. Each refused release must exit 4 naming the entry, write nothing outside the release, leave no
// `.incoming-*`, and leave `current` and the instance exactly as they were; each accepted one lands inside.
import { existsSync } from 'node:fs';
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { paxRecord, releaseTarGz, sha256, tar, tarGz, type TestEntry } from '../helpers/archives.js';
import { runCli } from '../helpers/cli.js';
import { listTree, serviceRelease, useDeployedWorld } from '../helpers/deploy-world.js';

const deployed = useDeployedWorld();

/** From the incoming directory (srv/myapp/releases/.incoming-…/) up to the work directory holding root/ and outside/. */
const upToWork = '../../../../..';
const outsidePath = () => deployed.world.outside;
const pwned = () => join(deployed.world.outside, 'pwned');

/** Everything under the work directory except the agent's own state, which records each run. */
async function treeOutsideState(): Promise<string[]> {
  return (await listTree(deployed.world.work)).filter((line) => !line.startsWith('root/var/lib/pulldeploy/'));
}

interface Refusal {
  name: string;
  /** The release body: entries of a tar, or a whole tarball. */
  archive: () => TestEntry[] | Buffer;
  message: RegExp;
}

const refused: Refusal[] = [
  { name: 'an absolute path', archive: () => [{ path: pwned(), content: 'owned' }], message: /refusing entry ".*\/outside\/pwned": its path is absolute/ },
  { name: 'a ../ one level up', archive: () => [{ path: '../pwned', content: 'owned' }], message: /refusing entry "\.\.\/pwned": its path contains "\.\."/ },
  { name: 'a ../ three levels up', archive: () => [{ path: '../../../pwned', content: 'owned' }], message: /its path contains "\.\."/ },
  {
    name: 'a ../ five levels up, landing exactly in a sibling of the root',
    archive: () => [{ path: `${upToWork}/outside/pwned`, content: 'owned' }],
    message: /its path contains "\.\."/,
  },
  { name: 'a .. in the middle of a path (a/b/../../../x)', archive: () => [{ path: 'a/b/../../../x', content: 'owned' }], message: /its path contains "\.\."/ },
  {
    name: 'a symlink to / followed by an entry written through it',
    archive: () => [
      { path: 'rootfs', type: 'symlink', linkpath: '/' },
      { path: `rootfs${outsidePath()}/pwned`, content: 'owned' },
    ],
    message: /refusing entry "rootfs": the symlink target "\/" is absolute/,
  },
  {
    name: 'a symlink to .. followed by an entry written through it',
    archive: () => [
      { path: 'up', type: 'symlink', linkpath: '..' },
      { path: 'up/pwned', content: 'owned' },
    ],
    message: /refusing entry "up": the symlink target "\.\." resolves outside the release/,
  },
  {
    name: 'a relative symlink to a sibling of the root followed by an entry written through it',
    archive: () => [
      { path: 'side', type: 'symlink', linkpath: `${upToWork}/outside` },
      { path: 'side/pwned', content: 'owned' },
    ],
    message: /refusing entry "side": the symlink target ".*outside" resolves outside the release/,
  },
  {
    name: 'a symlink chain that escapes only on its third hop',
    archive: () => [
      { path: 'a/b/', type: 'directory' },
      { path: 'hop1', type: 'symlink', linkpath: 'a/b' },
      { path: 'hop2', type: 'symlink', linkpath: 'hop1/..' },
      { path: 'hop3', type: 'symlink', linkpath: 'hop2/../..' },
      { path: 'hop3/outside/pwned', content: 'owned' },
    ],
    message: /refusing entry "hop3": the symlink target "hop2\/\.\.\/\.\." resolves outside the release/,
  },
  {
    name: 'an entry written through a symlink that stays inside (the tree must never change under a link)',
    archive: () => [
      { path: 'real/', type: 'directory' },
      { path: 'alias', type: 'symlink', linkpath: 'real' },
      { path: 'alias/file', content: 'x' },
    ],
    message: /refusing entry "alias\/file": it would be written through the symlink "alias"/,
  },
  {
    name: 'a hardlink to an absolute file outside',
    archive: () => [{ path: 'sentinel', type: 'hardlink', linkpath: join(outsidePath(), 'sentinel') }],
    message: /refusing entry "sentinel": the hardlink target ".*outside\/sentinel" is absolute/,
  },
  {
    name: 'a hardlink to a file outside through ../',
    archive: () => [{ path: 'sentinel', type: 'hardlink', linkpath: `${upToWork}/outside/sentinel` }],
    message: /refusing entry "sentinel": the hardlink target ".*" contains "\.\."/,
  },
  {
    name: 'a hardlink to a file through a symlink',
    archive: () => [
      { path: 'etc', type: 'symlink', linkpath: 'salt' },
      { path: 'passwd', type: 'hardlink', linkpath: 'etc/config/states/top.sls' },
    ],
    message: /refusing entry "passwd": the hardlink target "etc\/config\/states\/top.sls" goes through the symlink "etc"/,
  },
  { name: 'a character device', archive: () => [{ path: 'null', type: 'character-device' }], message: /refusing entry "null": it is a character device/ },
  { name: 'a block device', archive: () => [{ path: 'sda', type: 'block-device' }], message: /refusing entry "sda": it is a block device/ },
  { name: 'a FIFO', archive: () => [{ path: 'pipe', type: 'fifo' }], message: /refusing entry "pipe": it is a FIFO/ },
  {
    name: 'a file name with a newline (a forged log line)',
    archive: () => [{ path: 'hooks/pre-release/10-x\nerror: step apply failed', content: '#!/bin/sh\n', mode: 0o755 }],
    message: /refusing entry "hooks\/pre-release\/10-x\\nerror: step apply failed": its path contains the control character "\\n"/,
  },
  {
    name: 'a file name with an escape sequence',
    archive: () => [{ path: 'x\u001b[2Jclear', content: 'x' }],
    message: /its path contains the control character "\\u001b"/,
  },
  {
    name: 'a name whose bytes after a NUL hold a newline and a path out (node-tar drops only up to the newline)',
    archive: () => [{ path: `safe\0x\n${upToWork}/outside/pwned`, content: 'owned' }],
    message: /refusing entry "safe\\n\.\.\/.*": its path contains the control character "\\n"/,
  },
  {
    name: 'a name whose bytes after a NUL smuggle a newline and more NULs into the path (it crashed the agent before)',
    archive: () => [{ path: 'safe\0x\nevil', content: 'x' }],
    message: /refusing entry "safe\\nevil\\u0000\\u0000.*": its path contains the control character "\\n"/,
  },
  {
    name: 'a symlink whose target holds a newline',
    archive: () => [{ path: 'link', type: 'symlink', linkpath: 'a\nb' }],
    message: /refusing entry "link": its link target contains the control character "\\n"/,
  },
  {
    name: 'a PAX header that rewrites an innocent name to a path out',
    archive: () => [{ path: 'harmless.txt', content: 'owned', pax: { path: `${upToWork}/outside/pwned` } }],
    message: /refusing entry "\.\.\/.*outside\/pwned": its path contains "\.\."/,
  },
  {
    name: 'a PAX header that rewrites a symlink target to /',
    archive: () => [{ path: 'link', type: 'symlink', linkpath: 'harmless', pax: { linkpath: '/' } }],
    message: /refusing entry "link": the symlink target "\/" is absolute/,
  },
  {
    name: 'a global PAX header that sets the link target of every later entry to /',
    archive: () => [
      { path: 'pax_global_header', type: 'g', content: paxRecord('linkpath', '/') },
      { path: 'link', type: 'symlink', linkpath: 'harmless' },
    ],
    message: /refusing entry "link": the symlink target "\/" is absolute/,
  },
  {
    name: 'a ustar prefix field holding an absolute directory',
    archive: () => [{ path: 'pwned', prefix: outsidePath(), content: 'owned' }],
    message: /refusing entry ".*\/outside\/pwned": its path is absolute/,
  },
  {
    name: 'a ustar prefix field climbing out with ..',
    archive: () => [{ path: 'pwned', prefix: `${upToWork}/outside`, content: 'owned' }],
    message: /its path contains "\.\."/,
  },
  {
    name: 'a GNU sparse file, which node-tar would skip without a word',
    archive: () => [{ path: 'sparse', type: 'S', content: 'x' }],
    message: /refusing entry "sparse": its type SparseFile cannot be extracted safely/,
  },
  {
    name: 'a marker file of its own, to pass as verified',
    archive: () => [{ path: '.pulldeploy-release.json', content: '{"format":1}' }],
    message: /contains \.pulldeploy-release\.json, a name pulldeploy keeps for itself/,
  },
  {
    name: 'a truncated gzip (the pointer has the digest of the truncated bytes)',
    archive: () => {
      const whole = releaseTarGz(serviceRelease('truncated', { 'data.bin': 'x'.repeat(50_000) }));
      return whole.subarray(0, Math.floor(whole.length * 0.6));
    },
    message: /is not a valid gzip stream \(unexpected end of file\): republish it/,
  },
  {
    name: 'a valid gzip followed by garbage',
    archive: () => Buffer.concat([releaseTarGz(serviceRelease('garbage')), Buffer.from('this is not gzip')]),
    message: /is not a valid gzip stream \(incorrect header check\): republish it/,
  },
  {
    name: 'a valid gzip followed by zeros, which zlib would ignore quietly',
    archive: () => Buffer.concat([releaseTarGz(serviceRelease('zeros')), Buffer.alloc(4096)]),
    message: /has 4096 bytes of trailing data after its gzip stream: it is damaged; republish it/,
  },
  {
    name: 'a tar inside the gzip inside the gzip',
    archive: () => gzipSync(gzipSync(tar([{ path: 'a', content: 'x' }]))),
    message: /the archive is compressed twice/,
  },
];

function tarballOf(archive: TestEntry[] | Buffer): Buffer {
  if (Buffer.isBuffer(archive)) return archive;
  return tarGz([{ path: 'salt/config/states/top.sls', content: '# evil\n' }, ...archive]);
}

/** Publishes and promotes the release, runs a deploy, and answers the result with its last (JSON) error line. */
async function deployRelease(version: string, tarball: Buffer) {
  await deployed.world.publishBytes('myapp', version, tarball);
  await deployed.world.promote('myapp', 'testing', { version, sha256: sha256(tarball) });
  const result = await runCli(['myapp', 'testing', '--root', deployed.world.root, '--json'], { ...deployed.world.env, PULLDEPLOY_LB_REGISTER: 'true' });
  const lastLine = result.stderr.trim().split('\n').at(-1) ?? '';
  return { result, lastLine: lastLine.startsWith('{') ? (JSON.parse(lastLine) as { level: string; msg: string; exit_code: number }) : undefined };
}

describe('refused releases: exit 4, nothing written outside, no incoming dir, current untouched', () => {
  for (const [index, testCase] of refused.entries()) {
    it(`refuses ${testCase.name}`, async () => {
      const before = await treeOutsideState();
      const { result, lastLine } = await deployRelease(`evil${index}`, tarballOf(testCase.archive()));

      expect(result.exitCode).toBe(4);
      expect(lastLine?.level).toBe('error');
      expect(lastLine?.exit_code).toBe(4);
      expect(lastLine?.msg).toMatch(/^step fetch failed: release s3:\/\/.*\/deploy\/myapp\/releases\/evil\d+\.tar\.gz/);
      expect(lastLine?.msg).toMatch(testCase.message);
      // Nothing written anywhere: the whole work directory (root, outside) is as it was, the run's record aside.
      expect(await treeOutsideState()).toEqual(before);
      expect(await readdir(join(deployed.world.root, 'srv/myapp/releases'))).toEqual(['v1']);
      expect(await readFile(join(deployed.world.outside, 'sentinel'), 'utf8')).toBe('untouched');
      expect(existsSync(pwned())).toBe(false);
      expect(await readlink(join(deployed.world.root, 'srv/myapp/current'))).toBe('releases/v1');
      expect(await readFile(join(deployed.world.root, 'srv/myapp/current/VERSION'), 'utf8')).toBe('v1\n');
      expect(await deployed.world.registeredInstances()).toEqual([]);
      const state = JSON.parse(await readFile(join(deployed.world.root, 'var/lib/pulldeploy/state.json'), 'utf8'));
      expect(state.last_run).toMatchObject({ outcome: 'failed', failed_step: 'fetch', exit_code: 4 });
    });
  }
});

describe('accepted releases: what looks hostile but lands inside the release, made harmless', () => {
  it('clears setuid, setgid and sticky bits (they are not refused) and deploys', async () => {
    const tarball = tarGz([
      { path: 'salt/config/states/top.sls', content: '# suid\n' },
      { path: 'bin/', type: 'directory', mode: 0o1777 },
      { path: 'bin/suid-root', content: '#!/bin/sh\n', mode: 0o4755 },
      { path: 'bin/sgid', content: '#!/bin/sh\n', mode: 0o2755 },
    ]);
    const { result } = await deployRelease('suid', tarball);

    expect(result.exitCode).toBe(0);
    const dir = join(deployed.world.root, 'srv/myapp/releases/suid');
    expect((await stat(join(dir, 'bin/suid-root'))).mode & 0o7777).toBe(0o755 & ~process.umask());
    expect((await stat(join(dir, 'bin/sgid'))).mode & 0o7777).toBe(0o755 & ~process.umask());
    expect((await stat(join(dir, 'bin'))).mode & 0o7000).toBe(0);
    expect(await readlink(join(deployed.world.root, 'srv/myapp/current'))).toBe('releases/suid');
  });

  it('ends a name at a NUL, as every tar reader does: the junk after it is never a path', async () => {
    const tarball = tarGz([
      { path: 'salt/config/states/top.sls', content: '# nul\n' },
      { path: `safe\0/${upToWork}/outside/pwned`, content: 'inside' },
      { path: 'pax-name', content: 'inside', pax: { path: `pax-safe\0/${upToWork}/outside/pwned` } },
    ]);
    const before = (await listTree(deployed.world.outside)).sort();
    const { result } = await deployRelease('nul', tarball);

    expect(result.exitCode).toBe(0);
    const dir = join(deployed.world.root, 'srv/myapp/releases/nul');
    expect(await readFile(join(dir, 'safe'), 'utf8')).toBe('inside');
    expect(await readFile(join(dir, 'pax-safe'), 'utf8')).toBe('inside');
    expect((await listTree(deployed.world.outside)).sort()).toEqual(before);
    expect(existsSync(pwned())).toBe(false);
  });

  it('ignores a path in a global PAX header, which no reader applies to every entry', async () => {
    const tarball = tarGz([
      { path: 'pax_global_header', type: 'g', content: paxRecord('path', `${upToWork}/outside/pwned`) },
      { path: 'salt/config/states/top.sls', content: '# global\n' },
      { path: 'harmless', content: 'inside' },
    ]);
    const { result } = await deployRelease('global', tarball);

    expect(result.exitCode).toBe(0);
    expect(await readFile(join(deployed.world.root, 'srv/myapp/releases/global/harmless'), 'utf8')).toBe('inside');
    expect(existsSync(pwned())).toBe(false);
    expect((await lstat(join(deployed.world.root, 'srv/myapp/current'))).isSymbolicLink()).toBe(true);
  });
});
