// The publisher commands end to end: the CLI as a child process against moto, round trips into `pulldeploy deploy`, races and refusals.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { cliCommand, runCli } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, listTree, serviceRelease, type DeployWorld, type ReleaseFiles } from '../helpers/deploy-world.js';
import { motoS3Client } from '../helpers/moto-clients.js';
import { corruptUploads, holdPointerWrites, startS3Proxy } from '../integration/publish/s3-proxy.js';

let world: DeployWorld;
const s3 = motoS3Client();

beforeEach(async () => {
  world = await createDeployWorld();
});

afterEach(async () => {
  await world.stop();
});

const repo = join(import.meta.dirname, '..', '..');
const deployArgs = () => ['myapp', 'testing', '--root', world.root];

/** Writes a release tree to disk; a content starting with `#!` is made executable. */
async function writeTree(name: string, files: ReleaseFiles): Promise<string> {
  const dir = join(world.work, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content, { mode: content.startsWith('#!') ? 0o755 : 0o644 });
  }
  return dir;
}

/** pack → publish → promote with the CLI; answers the sha256 pack printed. */
async function release(service: string, version: string, files: ReleaseFiles, promoteArgs: string[] = []): Promise<string> {
  const tarball = join(world.work, `${service}-${version}.tar.gz`);
  const packed = await runCli(['pack', await writeTree(`${service}-${version}`, files), '-o', tarball], world.env);
  expect(packed.exitCode, packed.stderr).toBe(0);
  const published = await runCli(['publish', service, tarball, '--version', version], world.env);
  expect(published.exitCode, published.stderr).toBe(0);
  const promoted = await runCli(['promote', service, 'testing', version, ...promoteArgs], world.env);
  expect(promoted.exitCode, promoted.stderr).toBe(0);
  return packed.stdout.trim();
}

async function objectText(key: string): Promise<string> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: world.bucket, Key: key }));
  return answer.Body!.transformToString();
}

async function bucketKeys(): Promise<string[]> {
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: world.bucket }));
  return (listing.Contents ?? []).map((item) => item.Key ?? '').sort();
}

describe('help', () => {
  it.each(['pack', 'publish', 'promote', 'releases', 'keygen'])('pulldeploy %s --help explains the command with examples', async (command) => {
    const result = await runCli([command, '--help'], {});
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: pulldeploy ${command} `));
    expect(result.stdout).toContain('Examples:');
  });

  it('lists the publisher commands in the main help', async () => {
    const result = await runCli(['--help'], {});
    for (const command of ['pack', 'publish', 'promote', 'releases', 'keygen']) expect(result.stdout).toMatch(new RegExp(`\\n  ${command} +CI: `));
  });
});

describe('bad input: a message, the exit code, nothing changed', () => {
  it.each([
    [['pack'], 2, 'error: expected one DIR (e.g. pulldeploy pack build/release -o myapp.tar.gz), got 0 argument(s)'],
    [['pack', '.'], 2, 'error: missing -o FILE.tar.gz: where to write the tarball'],
    [['pack', '.', '-o', 'x.tar.gz', '--frobnicate'], 2, /^error: Unknown option '--frobnicate'.*; see "pulldeploy pack --help"$/],
    [['publish', 'myapp'], 2, 'error: expected SERVICE FILE (e.g. pulldeploy publish myapp myapp.tar.gz --version 1.0), got 1 argument(s)'],
    [['publish', 'myapp', 'x.tar.gz'], 2, 'error: missing --version V: the version this release is published as'],
    [['publish', 'my/app', 'x.tar.gz', '--version', '1'], 2, /^error: SERVICE "my\/app" is not a valid name: it must match .* \(no slashes or spaces\)$/],
    [['publish', 'myapp', 'x.tar.gz', '--version', '../1'], 2, /^error: version "..\/1" is not valid: it must match .* because it becomes a directory name on every instance$/],
    [['publish', 'myapp', 'x.tar.gz', '--version', '1', '--part-size', '4'], 2, 'error: --part-size expects a whole number of MiB from 5 to 5120 (S3\'s part limits), got "4"'],
    [['publish', 'myapp', 'missing.tar.gz', '--version', '1'], 2, /^error: cannot read missing\.tar\.gz: .*ENOENT/],
    [['promote', 'myapp', 'testing'], 2, 'error: expected SERVICE INSTANCE VERSION (e.g. pulldeploy promote myapp testing 1.0), got 2 argument(s)'],
    [['promote', 'myapp', 'testing', '1.0', '--canary', '0'], 2, 'error: --canary expects a whole percent from 1 to 100, got "0" (use --abort-canary to drop a canary)'],
    [['promote', 'myapp', 'testing', '--canary', '10', '--abort-canary'], 2, 'error: --abort-canary and --canary exclude each other'],
    [['promote', 'myapp', 'testing', '1.0', '--sha256', 'abc'], 2, 'error: --sha256 expects 64 hex digits, got "abc"'],
    [['promote', 'myapp', 'testing', '1.0', '--sign-key', 'missing.key'], 2, /^error: cannot read --sign-key missing\.key: .*ENOENT/],
    [['promote', 'my app', 'testing', '1.0'], 2, /^error: SERVICE "my app" is not a valid name/],
    [['releases'], 2, 'error: expected SERVICE (e.g. pulldeploy releases myapp), got 0 argument(s)'],
    [['keygen'], 2, 'error: missing --out PREFIX: where to write PREFIX.key and PREFIX.pub'],
  ])('pulldeploy %j exits %i', async (args, code, message) => {
    const before = await listTree(world.work);
    const result = await runCli(args as string[], world.env);
    expect(result.exitCode).toBe(code);
    const firstLine = result.stderr.split('\n').find((line) => line.startsWith('error: ')) ?? '';
    if (typeof message === 'string') expect(firstLine).toBe(message);
    else expect(firstLine).toMatch(message);
    expect(await bucketKeys()).toEqual([]);
    expect(await listTree(world.work)).toEqual(before);
  });

  it('a sign key that is not an ed25519 private key is refused before anything is read or written', async () => {
    const rsa = join(world.work, 'rsa.key');
    await writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const garbage = join(world.work, 'garbage.key');
    await writeFile(garbage, '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
    const wrongType = await runCli(['promote', 'myapp', 'testing', '1.0', '--sign-key', rsa], world.env);
    expect(wrongType.exitCode).toBe(2);
    expect(wrongType.stderr).toContain(`error: --sign-key ${rsa}: the signing key is a rsa key, not ed25519: make one with "pulldeploy keygen --out PREFIX"`);
    const unreadable = await runCli(['promote', 'myapp', 'testing', '1.0', '--sign-key', garbage], world.env);
    expect(unreadable.exitCode).toBe(2);
    expect(unreadable.stderr).toContain(`error: --sign-key ${garbage}: the signing key is not a PEM private key`);
    expect(await bucketKeys()).toEqual([]);
  });

  it('no bucket configured is exit 2 naming the three ways to set one', async () => {
    const { PULLDEPLOY_BUCKET: _bucket, ...env } = world.env;
    const result = await runCli(['releases', 'myapp', '--root', world.root], env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('error: no bucket configured: pass --bucket, set PULLDEPLOY_BUCKET, or "bucket" in the configuration file');
  });
});

describe('pack', () => {
  it('prints the sha256 of identical bytes each time, honouring SOURCE_DATE_EPOCH', async () => {
    const dir = await writeTree('tree', serviceRelease('v1', { 'hooks/pre-release/10-check': '#!/bin/sh\nexit 0\n' }));
    const first = await runCli(['pack', dir, '-o', join(world.work, 'a.tar.gz')], world.env);
    const second = await runCli(['pack', dir, '-o', join(world.work, 'b.tar.gz')], world.env);
    const dated = await runCli(['pack', dir, '-o', join(world.work, 'c.tar.gz'), '--json'], { ...world.env, SOURCE_DATE_EPOCH: '1700000000' });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(second.stdout).toBe(first.stdout);
    expect(await readFile(join(world.work, 'b.tar.gz'))).toEqual(await readFile(join(world.work, 'a.tar.gz')));
    expect(createHash('sha256').update(await readFile(join(world.work, 'a.tar.gz'))).digest('hex')).toBe(first.stdout.trim());
    const json = JSON.parse(dated.stdout);
    expect(json).toMatchObject({ file: join(world.work, 'c.tar.gz'), entries: 8 });
    expect(json.sha256).not.toBe(first.stdout.trim());
  });

  it('refuses a tree with a link leading outside it: exit 4, no tarball', async () => {
    const dir = await writeTree('tree', serviceRelease('v1'));
    await symlink('../../../etc/shadow', join(dir, 'salt', 'secret'));
    const result = await runCli(['pack', dir, '-o', join(world.work, 'out.tar.gz')], world.env);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('refusing entry "salt/secret": the symlink target "../../../etc/shadow" resolves outside the release');
    expect(await readdir(world.work)).not.toContain('out.tar.gz');
  });
});

describe('publish', () => {
  it('refuses to overwrite an existing version: exit 7, the stored release unchanged', async () => {
    await release('myapp', 'v1', serviceRelease('v1'));
    const key = 'deploy/myapp/releases/v1.tar.gz';
    const before = await objectText(key);
    const other = join(world.work, 'other.tar.gz');
    expect((await runCli(['pack', await writeTree('other', serviceRelease('other')), '-o', other], world.env)).exitCode).toBe(0);
    const result = await runCli(['publish', 'myapp', other, '--version', 'v1'], world.env);
    expect(result.exitCode).toBe(7);
    expect(result.stderr).toMatch(/^error: release s3:\/\/.*\/deploy\/myapp\/releases\/v1\.tar\.gz already exists with other bytes/m);
    expect(result.stdout).toBe('');
    expect(await objectText(key)).toBe(before);
  });

  it('prints the pointer JSON it would promote', async () => {
    const tarball = join(world.work, 'v1.tar.gz');
    const packed = await runCli(['pack', await writeTree('v1', serviceRelease('v1')), '-o', tarball], world.env);
    const result = await runCli(['publish', 'myapp', tarball, '--version', 'v1'], world.env);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ version: 'v1', sha256: packed.stdout.trim(), size: (await readFile(tarball)).length });
  });

  it('is refused by the server checksum when the bytes are corrupted on the way: exit 4, nothing stored', async () => {
    const proxy = await startS3Proxy(inject('motoUrl'), corruptUploads);
    try {
      const tarball = join(world.work, 'v1.tar.gz');
      await runCli(['pack', await writeTree('v1', serviceRelease('v1')), '-o', tarball], world.env);
      const result = await runCli(['publish', 'myapp', tarball, '--version', 'v1'], { ...world.env, AWS_ENDPOINT_URL: proxy.url });
      expect(result.exitCode).toBe(4);
      expect(result.stderr).toContain('the bytes it received do not match the checksum sent with them');
      expect(await bucketKeys()).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });
});

describe('promote', () => {
  it('refuses a release that was never published: exit 4, no pointer', async () => {
    const result = await runCli(['promote', 'myapp', 'testing', 'v9'], world.env);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/^error: release s3:\/\/.*\/deploy\/myapp\/releases\/v9\.tar\.gz not found: publish it first/m);
    expect(await bucketKeys()).toEqual([]);
  });

  it('refuses a release whose sha256 is not the expected one: exit 4, the pointer unchanged', async () => {
    await release('myapp', 'v1', serviceRelease('v1'));
    await world.publish('myapp', 'v2', serviceRelease('v2'));
    const before = await objectText('deploy/myapp/testing/current');
    const result = await runCli(['promote', 'myapp', 'testing', 'v2', '--sha256', 'f'.repeat(64)], world.env);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain(`not ${'f'.repeat(64)} as given with --sha256`);
    expect(await objectText('deploy/myapp/testing/current')).toBe(before);
  });

  it('two promotions racing from the same read: one wins, the other exits 7 and changes nothing', async () => {
    await release('myapp', 'v1', serviceRelease('v1'));
    await world.publish('myapp', 'v2', serviceRelease('v2'));
    await world.publish('myapp', 'v3', serviceRelease('v3'));
    const proxy = await startS3Proxy(inject('motoUrl'), holdPointerWrites(2));
    try {
      const env = { ...world.env, AWS_ENDPOINT_URL: proxy.url };
      const results = await Promise.all([
        runCli(['promote', 'myapp', 'testing', 'v2', '--by', 'one'], env),
        runCli(['promote', 'myapp', 'testing', 'v3', '--by', 'two'], env),
      ]);
      expect(results.map((result) => result.exitCode).sort()).toEqual([0, 7]);
      const loser = results.find((result) => result.exitCode === 7);
      const winner = results.find((result) => result.exitCode === 0);
      expect(loser?.stderr).toMatch(/error: pointer s3:\/\/.*\/deploy\/myapp\/testing\/current changed since it was read \(it had ETag .* when it was read\): another promotion won the race/);
      expect(loser?.stdout).toBe('');
      expect(JSON.parse(await objectText('deploy/myapp/testing/current'))).toEqual(JSON.parse(winner?.stdout ?? ''));
      const pointerReads = proxy.requests.filter((request) => request.method === 'GET' && request.path.endsWith('/testing/current'));
      expect(pointerReads).toHaveLength(2);
    } finally {
      await proxy.stop();
    }
  });

  it('records promoted_by from STS, or --by', async () => {
    await release('myapp', 'v1', serviceRelease('v1'));
    expect(JSON.parse(await objectText('deploy/myapp/testing/current')).promoted_by).toMatch(/^arn:aws:(sts|iam)::\d{12}:/);
    await world.publish('myapp', 'v2', serviceRelease('v2'));
    expect((await runCli(['promote', 'myapp', 'testing', 'v2', '--by', 'pipeline #42'], world.env)).exitCode).toBe(0);
    const pointer = JSON.parse(await objectText('deploy/myapp/testing/current'));
    expect(pointer).toMatchObject({ version: 'v2', promoted_by: 'pipeline #42' });
    expect(Date.parse(pointer.promoted_at)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('round trips into pulldeploy deploy', () => {
  it('pack → publish → promote → deploy', async () => {
    await release('base', 'b1', baseRelease('b1'));
    await release('myapp', 'v1', serviceRelease('v1', { 'hooks/post-release/10-mark': '#!/bin/sh\necho ran > "$PULLDEPLOY_ROOT/post-release.ran"\n' }));
    const result = await runCli(deployArgs(), world.env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');
    expect(await readFile(join(world.root, 'srv/myapp/current/VERSION'), 'utf8')).toBe('v1\n');
    expect(await readFile(join(world.root, 'post-release.ran'), 'utf8')).toBe('ran\n');
  });

  it('a release and pointer written by plain PutObject only, as `aws s3 cp` would: deploy, list, promote', async () => {
    const { sha256 } = await world.publish('base', 'b1', baseRelease('b1'));
    await s3.send(new PutObjectCommand({ Bucket: world.bucket, Key: 'deploy/base/testing/current', Body: JSON.stringify({ version: 'b1', sha256 }) }));
    await world.release('myapp', 'v1', serviceRelease('v1'));
    const deployed = await runCli(deployArgs(), world.env);
    expect(deployed.exitCode, deployed.stderr).toBe(0);
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');

    const listed = await runCli(['releases', 'myapp', '--json'], world.env);
    expect(JSON.parse(listed.stdout).environments).toEqual([{ environment: 'testing', version: 'v1', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);

    await world.publish('myapp', 'v2', serviceRelease('v2'));
    const promoted = await runCli(['promote', 'myapp', 'testing', 'v2'], world.env);
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    expect(promoted.stderr).toContain('no sha256 was recorded at publish');
    expect((await runCli(deployArgs(), world.env)).exitCode).toBe(0);
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v2');
  });

  it('examples/ci/release.sh: pack, publish, promote from a shell, then deploy', async () => {
    await world.release('base', 'b1', baseRelease('b1'));
    const dir = await writeTree('build', serviceRelease('ci-1'));
    const run = promisify(execFile);
    const { stdout } = await run('sh', [join(repo, 'examples/ci/release.sh'), 'myapp', dir, 'testing', 'ci-1'], {
      env: { ...world.env, PATH: process.env.PATH ?? '/usr/bin:/bin', PULLDEPLOY: cliCommand().join(' '), SOURCE_DATE_EPOCH: '1700000000', PROMOTED_BY: 'ci' },
    });
    expect(stdout.trim().split('\n').map((line) => JSON.parse(line).version)).toEqual(['ci-1', 'ci-1']);
    expect((await runCli(deployArgs(), world.env)).exitCode).toBe(0);
    expect(await readFile(join(world.root, 'srv/myapp/current/VERSION'), 'utf8')).toBe('ci-1\n');
  });
});

describe('releases and keygen', () => {
  it('lists versions and where each environment points, canary included', async () => {
    await release('myapp', 'v1', serviceRelease('v1'));
    await world.publish('myapp', 'v2', serviceRelease('v2'));
    expect((await runCli(['promote', 'myapp', 'testing', 'v2', '--canary', '25'], world.env)).exitCode).toBe(0);
    const result = await runCli(['releases', 'myapp'], world.env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^VERSION +SIZE +PUBLISHED +ENVIRONMENTS\nv1 +\d+ B +\S+ +testing\nv2 +\d+ B +\S+ +testing \(canary 25%\)\n/);
    expect(result.stdout).toMatch(/\ntesting +v1 +v2 \(25%\) /);
  });

  it('writes a key pair once, and refuses to overwrite it (exit 2)', async () => {
    const prefix = join(world.work, 'release');
    const first = await runCli(['keygen', '--out', prefix], world.env);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe(`${prefix}.key\n${prefix}.pub\n`);
    const key = await readFile(`${prefix}.key`, 'utf8');
    const second = await runCli(['keygen', '--out', prefix], world.env);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toContain(`error: cannot write ${prefix}.key: it already exists`);
    expect(await readFile(`${prefix}.key`, 'utf8')).toBe(key);
  });
});
