// Crash at every step (reliability suite, issue 6): the agent SIGKILLs itself at each named point (the test-only
// PULLDEPLOY_TEST_CRASH_AT, src/state/crash-point.ts) or is SIGKILLed from outside at timed moments, then runs
// again. It must converge on the promoted releases; while both runs go on, no link may ever be missing or
// dangling and state.json must always parse; afterwards no leftover, the dead run's lock taken over, and the
// release `current` left is still known as the previous one.
import { randomBytes } from 'node:crypto';
import { chmod, cp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';
import { watchRoot } from '../helpers/root-watch.js';

let world: DeployWorld;
/** A root with base b1 and myapp v1 deployed, copied for every case. */
let template: string;
let env: Record<string, string>;

const links = ['srv/myapp/current', 'srv/base/current', 'srv/service', 'srv/myapp/next'];

beforeAll(async () => {
  world = await createDeployWorld();
  template = world.root;
  const apply = join(world.work, 'apply.sh');
  await writeFile(apply, '#!/bin/sh\necho applying\nsleep 0.1\necho applied\n');
  await chmod(apply, 0o755);
  env = { ...world.env, PULLDEPLOY_APPLY_COMMAND: apply };
  const hook = (phase: string) => `#!/bin/sh\necho ${phase} running\nsleep 0.1\necho ${phase} done\n`;
  const hooks = { 'hooks/pre-release/10-hook': hook('pre-release'), 'hooks/post-release/10-hook': hook('post-release') };
  await world.release('base', 'b1', baseRelease('b1'));
  await world.release('myapp', 'v1', serviceRelease('v1', hooks));
  expect((await runCli(['myapp', 'testing', '--root', template], env)).exitCode).toBe(0);
  // v2 is big enough to be cut in the middle of its body (2 MB in many chunks) and of its extraction (33 entries).
  const data = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`data/${i}.bin`, randomBytes(48 * 1024).toString('base64')]));
  await world.release('base', 'b2', baseRelease('b2'));
  await world.release('myapp', 'v2', serviceRelease('v2', { ...hooks, ...data }));
}, 120_000);

afterAll(async () => {
  await world.stop();
});

let cases = 0;

/** A fresh copy of the template root, with v1 current. */
async function freshRoot(): Promise<string> {
  cases += 1;
  const root = join(world.work, `case-${cases}`);
  await cp(template, root, { recursive: true, verbatimSymlinks: true });
  return root;
}

/** Every name under `dir` that a crashed run may leave and a later one must clean: incoming, stale, temp files. */
async function leftovers(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { recursive: true })) as string[];
  return names.filter((name) => /(^|\/)(\.incoming-|\.stale-|\.[^/]*\.tmp-)[^/]*$/.test(name) || /(^|\/)lock(\.takeover)?$/.test(name));
}

/** The second run after a crash: converges, and the whole root then holds exactly one valid deploy of v2 on b2. */
async function expectConverged(root: string, rerun: CliResult): Promise<void> {
  expect(rerun.exitCode, rerun.stderr.slice(-3000)).toBe(0);
  expect(await readlink(join(root, 'srv/myapp/current'))).toBe('releases/v2');
  expect(await readlink(join(root, 'srv/myapp/next'))).toBe('releases/v2');
  expect(await readlink(join(root, 'srv/base/current'))).toBe('releases/b2');
  expect(await readlink(join(root, 'srv/service'))).toBe('myapp');
  expect(await readFile(join(root, 'srv/service/current/VERSION'), 'utf8')).toBe('v2\n');
  expect(await readFile(join(root, 'srv/myapp/current/data/29.bin'), 'utf8')).toHaveLength(65_536);
  expect((await readdir(join(root, 'srv/myapp/releases'))).sort()).toEqual(['v1', 'v2']);
  expect((await readdir(join(root, 'srv/base/releases'))).sort()).toEqual(['b1', 'b2']);
  expect(await leftovers(root)).toEqual([]);
  const state = JSON.parse(await readFile(join(root, 'var/lib/pulldeploy/state.json'), 'utf8'));
  expect(state.last_run.outcome).toBe('success');
  // The release before v2 is never forgotten, even when the crash came between the switch and its record.
  expect(state.last_run.versions.service).toEqual({ current: 'v2', previous: 'v1' });
  expect(state.last_run.versions.base).toEqual({ current: 'b2', previous: 'b1' });
}

const args = (root: string) => ['myapp', 'testing', '-v', '--root', root];

const steps = ['lock', 'identify', 'resolve', 'fetch', 'stage', 'pre-release', 'apply', 'switch', 'post-release', 'register', 'record', 'prune'];
const insidePoints = [
  'lock:empty',
  'fetch:mid-body',
  'extract:mid',
  'fetch:before-rename',
  'link:base/current',
  'link:srv/service',
  'link:myapp/next',
  'hook:pre-release',
  'apply:running',
  'write:grains',
  'write:pulldeploy.conf',
  'link:myapp/current',
  'hook:post-release',
  'write:state.json',
];
const crashPoints = [...steps.flatMap((step) => [`before:${step}`, `after:${step}`]), ...insidePoints];

// Each case has its own root: they run a few at a time, which halves the wall time on two cores.
describe.concurrent('a crash at every named point, then a rerun', () => {
  for (const point of crashPoints) {
    it(`converges after a SIGKILL at ${point}`, async () => {
      const root = await freshRoot();
      const watch = watchRoot(root, links);
      const crashed = await runCli(args(root), { ...env, PULLDEPLOY_TEST_CRASH_AT: point });
      const rerun = await runCli(args(root), env);
      const seen = await watch.stop();

      expect(crashed.signal, `the crash point ${point} was never reached:\n${crashed.stderr.slice(-2000)}`).toBe('SIGKILL');
      expect(seen.problems).toEqual([]);
      expect(seen.looks).toBeGreaterThan(20);
      await expectConverged(root, rerun);
      if (point === 'before:lock') expect(rerun.stderr).not.toContain('stale lock');
      else if (point === 'lock:empty') expect(rerun.stderr).toContain('took over stale lock of an unreadable lock file');
      else expect(rerun.stderr).toMatch(/took over stale lock of pid \d+ at .*lock: that process is no longer running/);
      await rm(root, { recursive: true, force: true });
    });
  }
});

describe('SIGKILL from outside at timed moments, then a rerun', () => {
  let fullRunMs = 0;

  beforeAll(async () => {
    const root = await freshRoot();
    const run = await runCli(args(root), env);
    expect(run.exitCode).toBe(0);
    fullRunMs = run.durationMs;
    await rm(root, { recursive: true, force: true });
  });

  const moments = 8;
  for (let moment = 1; moment <= moments; moment += 1) {
    it(`converges after a SIGKILL at ${moment}/${moments + 1} of a deploy's duration`, async () => {
      const root = await freshRoot();
      const watch = watchRoot(root, links);
      const started = startCli(args(root), env);
      started.child.stdin.end();
      const killer = setTimeout(() => started.child.kill('SIGKILL'), (fullRunMs * moment) / (moments + 1));
      const crashed = await started.result;
      clearTimeout(killer);
      const rerun = await runCli(args(root), env);
      const seen = await watch.stop();

      expect(crashed.signal).toBe('SIGKILL');
      expect(seen.problems).toEqual([]);
      await expectConverged(root, rerun);
      await rm(root, { recursive: true, force: true });
    });
  }
});
