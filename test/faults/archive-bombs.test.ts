// Archives that attack by size through the whole CLI (reliability suite, issue 6): 10 GiB gzip bombs stopped at
// the configured cap, early and without filling the disk, and 100 000 tiny entries deployed in bounded time and
// memory, or refused at fetch.max_entries. The root is a tmpfs, so a bomb that got through would fill it.
import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileHeader, sha256, tar, tarGz, type TestEntry } from '../helpers/archives.js';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';
import { gzipOfRuns, type Run } from '../helpers/gzip-bomb.js';
import { watchPeakMemory } from '../helpers/processes.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const mebibyte = 1024 * 1024;
const gibibyte = 1024 * mebibyte;
/** The configured cap the bombs run into. */
const capBytes = 64 * mebibyte;
/** The disk the root lives on: a bomb that got past the cap would fill it long before 10 GiB. */
const diskBytes = 1 * gibibyte;

let world: DeployWorld;
let disk: Tmpfs;

beforeAll(async () => {
  world = await createDeployWorld();
  disk = await mountTmpfs(world.root, { size: diskBytes });
  await world.release('base', 'b1', baseRelease('b1'));
  await world.release('myapp', 'v1', serviceRelease('v1'));
  expect((await runCli(['myapp', 'testing', '--root', world.root], world.env)).exitCode).toBe(0);
}, 120_000);

afterAll(async () => {
  await disk?.unmount();
  await world?.stop();
}, 120_000);

interface WatchedRun {
  result: CliResult;
  peakRssBytes: number;
  peakDiskBytes: number;
}

/** Publishes, promotes and deploys `tarball`, watching the agent's peak memory and the disk's peak usage throughout. */
async function deployWatched(version: string, tarball: Buffer, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<WatchedRun> {
  await world.publishBytes('myapp', version, tarball);
  await world.promote('myapp', 'testing', { version, sha256: sha256(tarball) });
  const started = startCli(['myapp', 'testing', '--root', world.root, '--json'], { ...world.env, ...env }, timeoutMs);
  started.child.stdin.end();
  const memory = watchPeakMemory(started.child.pid!);
  let peakDiskBytes = 0;
  let watching = true;
  const diskWatch = (async () => {
    while (watching) {
      peakDiskBytes = Math.max(peakDiskBytes, await disk.used());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const result = await started.result;
  watching = false;
  await diskWatch;
  return { result, peakRssBytes: memory.stop(), peakDiskBytes };
}

function lastMessage(result: CliResult): string {
  const line = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '{}') as { msg?: string };
  return line.msg ?? '';
}

async function expectNothingChanged(): Promise<void> {
  expect(await readdir(join(world.root, 'srv/myapp/releases'))).toEqual(['v1']);
  expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');
  expect(await readFile(join(world.root, 'srv/myapp/current/VERSION'), 'utf8')).toBe('v1\n');
}

const zeros = Buffer.alloc(mebibyte);
const capEnv = { PULLDEPLOY_FETCH_MAX_BYTES: String(capBytes), PULLDEPLOY_FETCH_MAX_ENTRIES: '1000' };

describe('gzip bombs: stopped at fetch.max_bytes, early, the disk never near full', () => {
  it('10 240 files of 1 MiB of zeros (10 GiB) is refused once their declared sizes pass the cap', async () => {
    const runs: Run[] = [{ data: tar([{ path: 'salt/config/states/top.sls', content: '# bomb\n' }]).subarray(0, 1024), times: 1 }];
    for (let i = 0; i < 10_240; i += 1) runs.push({ data: fileHeader(`zeros/${i}`, mebibyte), times: 1 }, { data: zeros, times: 1 });
    const bomb = gzipOfRuns(runs);
    expect(bomb.length).toBeLessThan(20 * mebibyte);

    const run = await deployWatched('bomb-files', bomb, capEnv);

    expect(run.result.exitCode).toBe(4);
    expect(lastMessage(run.result)).toMatch(
      new RegExp(`refusing entry "zeros/63": the archive's content exceeds ${capBytes} bytes \\(fetch\\.max_bytes\\)`),
    );
    // Inflating 10 GiB takes a minute of CPU; stopping at the cap takes a moment.
    expect(run.result.durationMs).toBeLessThan(15_000);
    expect(run.peakDiskBytes).toBeLessThan(capBytes + 32 * mebibyte);
    await expectNothingChanged();
  });

  it('10 GiB of zeros after the end-of-archive marker, which no entry declares, is stopped by the stream limit', async () => {
    const release = tar([{ path: 'salt/config/states/top.sls', content: '# bomb\n' }]);
    const bomb = gzipOfRuns([
      { data: release, times: 1 },
      { data: zeros, times: 10_240 },
    ]);

    const run = await deployWatched('bomb-padding', bomb, capEnv);

    expect(run.result.exitCode).toBe(4);
    const limit = capBytes + 1000 * 8 * 1024 + mebibyte;
    expect(lastMessage(run.result)).toContain(
      `the archive expands to more than ${limit} bytes, more than its limits allow (fetch.max_bytes ${capBytes}, fetch.max_entries 1000)`,
    );
    expect(run.result.durationMs).toBeLessThan(15_000);
    // Padding is counted, never written.
    expect(run.peakDiskBytes).toBeLessThan(16 * mebibyte);
    await expectNothingChanged();
  });

  it('one entry declaring 10 GiB is refused at its header, before a byte of it is inflated', async () => {
    const bomb = gzipOfRuns([
      { data: tar([{ path: 'salt/config/states/top.sls', content: '# bomb\n' }]).subarray(0, 1024), times: 1 },
      { data: fileHeader('huge', 10 * gibibyte), times: 1 },
      { data: zeros, times: 10_240 },
    ]);

    const run = await deployWatched('bomb-huge', bomb);

    expect(run.result.exitCode).toBe(4);
    expect(lastMessage(run.result)).toContain(`refusing entry "huge": the archive's content exceeds ${8 * gibibyte} bytes (fetch.max_bytes)`);
    expect(run.result.durationMs).toBeLessThan(15_000);
    expect(run.peakDiskBytes).toBeLessThan(16 * mebibyte);
    await expectNothingChanged();
  });
});

describe('100 000 tiny entries', () => {
  const directories = 100;
  const perDirectory = 1_000;
  let tarball: Buffer;

  beforeAll(() => {
    const entries: TestEntry[] = [{ path: 'salt/config/states/top.sls', content: '# many\n' }];
    for (let d = 0; d < directories; d += 1) {
      entries.push({ path: `many/${d}/`, type: 'directory' });
      for (let f = 0; f < perDirectory; f += 1) entries.push({ path: `many/${d}/${f}`, content: 'x' });
    }
    tarball = tarGz(entries);
  });

  it('are refused at fetch.max_entries, early', async () => {
    const run = await deployWatched('many-capped', tarball, { PULLDEPLOY_FETCH_MAX_ENTRIES: '1000' });

    expect(run.result.exitCode).toBe(4);
    expect(lastMessage(run.result)).toMatch(/refusing entry "many\/0\/\d+": the archive has more than 1000 entries \(fetch\.max_entries\)/);
    expect(run.result.durationMs).toBeLessThan(15_000);
    await expectNothingChanged();
  });

  it('deploy within the default limits in bounded time and memory, every file in place', async () => {
    const run = await deployWatched('many', tarball, {}, 240_000);

    expect(run.result.exitCode, run.result.stderr.slice(-2000)).toBe(0);
    // node-tar's own bookkeeping kept every entry in memory (+460 MB); the agent at rest is ~140 MB, ~310 MB here.
    expect(run.peakRssBytes).toBeLessThan(400 * mebibyte);
    expect(run.result.durationMs).toBeLessThan(180_000);
    const dir = join(world.root, 'srv/myapp/releases/many/many');
    const counts = await Promise.all(Array.from({ length: directories }, async (_, d) => (await readdir(join(dir, String(d)))).length));
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(directories * perDirectory);
    expect(await readFile(join(dir, '99/999'), 'utf8')).toBe('x');
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/many');
  }, 240_000);
});
