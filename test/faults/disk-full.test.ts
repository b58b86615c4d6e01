// A full disk through the whole CLI (reliability suite, issue 6): the root is a small tmpfs (the tests run as root
// and are never skipped: where mounting is impossible they fail saying so). A deploy that runs out of space or
// inodes fails with a clear message and exit 1, leaves nothing half-written, keeps `current` and state.json
// intact, and a later run with room succeeds.
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const mebibyte = 1024 * 1024;
let world: DeployWorld;
let disk: Tmpfs | undefined;
let cases = 0;
let root: string;

beforeAll(async () => {
  world = await createDeployWorld();
  await world.release('base', 'b1', baseRelease('b1'));
});

afterAll(async () => {
  await world.stop();
});

/** Each case: a fresh tmpfs of `size` as the root, with v1 deployed on it. */
async function rootOnTmpfs(options: { size: number; inodes?: number }): Promise<void> {
  cases += 1;
  root = join(world.work, `case-${cases}`);
  await mkdir(root);
  disk = await mountTmpfs(root, options);
  await world.release('myapp', 'v1', serviceRelease('v1'));
  const first = await deploy();
  expect(first.exitCode, first.stderr).toBe(0);
}

beforeEach(() => {
  disk = undefined;
});

afterEach(async () => {
  await disk?.unmount();
});

const deploy = (env: Record<string, string> = {}) => runCli(['myapp', 'testing', '-v', '--root', root], { ...world.env, ...env });

/** Nothing half-written anywhere under the root, v1 still current and whole, state.json readable and saying why. */
async function expectIntact(failedStep: string | undefined): Promise<void> {
  const everything = (await readdir(root, { recursive: true })) as string[];
  expect(everything.filter((name) => /(^|\/)(\.incoming-|\.stale-|\.[^/]*\.tmp-|lock$)/.test(name))).toEqual([]);
  expect(await readdir(join(root, 'srv/myapp/releases'))).toEqual(['v1']);
  expect(await readlink(join(root, 'srv/myapp/current'))).toBe('releases/v1');
  expect(await readFile(join(root, 'srv/myapp/current/VERSION'), 'utf8')).toBe('v1\n');
  const state = JSON.parse(await readFile(join(root, 'var/lib/pulldeploy/state.json'), 'utf8'));
  if (failedStep === undefined) expect(state.last_run.outcome).toBe('success');
  else expect(state.last_run).toMatchObject({ outcome: 'failed', failed_step: failedStep, exit_code: 1 });
}

async function expectLaterRunSucceeds(): Promise<void> {
  const later = await deploy();
  expect(later.exitCode, later.stderr.slice(-2000)).toBe(0);
  expect(await readlink(join(root, 'srv/myapp/current'))).toBe('releases/v2');
}

/** Writes zeros to `file` until the file system is full. */
async function fill(file: string): Promise<void> {
  await promisify(execFile)('sh', ['-c', `head -c 64000000 /dev/zero > "${file}" 2>/dev/null; true`]);
}

function lastLine(result: CliResult): string {
  return result.stderr.trim().split('\n').at(-1) ?? '';
}

describe('the disk fills up', () => {
  it('while a release is extracted: exit 1 naming the place, the partial download removed', async () => {
    await rootOnTmpfs({ size: 8 * mebibyte });
    // 16 MiB of zeros: a few KB to download, twice the disk to extract.
    const zeros = 'z'.repeat(4 * mebibyte);
    await world.release('myapp', 'v2', serviceRelease('v2', { 'big/1': zeros, 'big/2': zeros, 'big/3': zeros, 'big/4': zeros }));
    const result = await deploy();

    expect(result.exitCode).toBe(1);
    expect(lastLine(result)).toMatch(
      new RegExp(
        `^error: step fetch failed: no space \\(or no free inodes\\) left on the file system holding ${root}/srv/myapp/releases\\S* \\(ENOSPC\\) ` +
          'while fetching s3://.*/deploy/myapp/releases/v2\\.tar\\.gz \\(nothing of it was kept\\): free some space',
      ),
    );
    expect(result.stderr).not.toContain('internal error');
    await expectIntact('fetch');
    await disk?.resize(64 * mebibyte);
    await expectLaterRunSucceeds();
  });

  it('out of inodes while a release is extracted: the same', async () => {
    await rootOnTmpfs({ size: 64 * mebibyte, inodes: 200 });
    const files = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`many/${i}`, 'x']));
    await world.release('myapp', 'v2', serviceRelease('v2', files));
    const result = await deploy();

    expect(result.exitCode).toBe(1);
    expect(lastLine(result)).toMatch(
      new RegExp(`^error: step fetch failed: no space \\(or no free inodes\\) left on the file system holding ${root}/srv/myapp/releases \\(ENOSPC\\)`),
    );
    await expectIntact('fetch');
    await world.release('myapp', 'v2', serviceRelease('v2'));
    await expectLaterRunSucceeds();
  });

  it('during the deploy, filled by a hook: the apply step fails, links restored, state.json intact', async () => {
    await rootOnTmpfs({ size: 8 * mebibyte });
    await world.release(
      'myapp',
      'v2',
      serviceRelease('v2', { 'hooks/pre-release/10-fill': '#!/bin/sh\nhead -c 64000000 /dev/zero > "$PULLDEPLOY_ROOT/filler" 2>/dev/null\nexit 0\n' }),
    );
    const result = await deploy();

    expect(result.exitCode).toBe(1);
    expect(lastLine(result)).toMatch(
      /^error: step apply failed: no space \(or no free inodes\) left on the file system holding .*\/etc\/salt\/grains \(ENOSPC\) while writing the salt configuration: free some space/,
    );
    expect(await readlink(join(root, 'srv/myapp/next'))).toBe('releases/v1');
    // The failed run could not be recorded (no room): the state file is the last good one, whole.
    expect(result.stderr).toMatch(/warning: could not record the failed run in .*state\.json: ENOSPC/);
    const everything = (await readdir(root, { recursive: true })) as string[];
    expect(everything.filter((name) => /(^|\/)(\.incoming-|\.[^/]*\.tmp-|lock$)/.test(name))).toEqual([]);
    expect(await readlink(join(root, 'srv/myapp/current'))).toBe('releases/v1');
    expect(JSON.parse(await readFile(join(root, 'var/lib/pulldeploy/state.json'), 'utf8')).last_run.outcome).toBe('success');
    await rm(join(root, 'filler'));
    await world.release('myapp', 'v2', serviceRelease('v2'));
    await expectLaterRunSucceeds();
  });

  it('before the run starts: the lock cannot be written, exit 1 saying so, nothing changed', async () => {
    await rootOnTmpfs({ size: 8 * mebibyte });
    // Every last page taken.
    await fill(join(root, 'filler'));
    await world.release('myapp', 'v2', serviceRelease('v2'));
    const result = await deploy();

    expect(result.exitCode).toBe(1);
    expect(lastLine(result)).toMatch(
      /^error: step lock failed: no space \(or no free inodes\) left on the file system holding .*\/var\/lib\/pulldeploy\/lock \(ENOSPC\) while creating the run lock: free some space/,
    );
    await expectIntact(undefined);
    await rm(join(root, 'filler'));
    await expectLaterRunSucceeds();
  });
});
