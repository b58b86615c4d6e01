// Ten runs started at once against one root (reliability suite, issue 6): exactly one deploys at a time; the
// others wait their turn, or exit 5 at once with --lock-timeout 0; the tree ends as exactly one valid deploy.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { startCli, type CliResult } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';

let world: DeployWorld;
let root: string;
let cases = 0;
const runs = 10;

beforeAll(async () => {
  world = await createDeployWorld();
  await world.release('base', 'b1', baseRelease('b1'));
  // Each hook run notes when it started and ended; it holds its run inside the lock until the test says go.
  const hook = [
    '#!/bin/sh',
    'echo "start $$ $(date +%s%N)" >> "$PULLDEPLOY_ROOT/hook-runs"',
    'while [ ! -e "$PULLDEPLOY_ROOT/go" ]; do sleep 0.05; done',
    'sleep 0.1',
    'echo "end $$ $(date +%s%N)" >> "$PULLDEPLOY_ROOT/hook-runs"',
    '',
  ].join('\n');
  await world.release('myapp', 'v1', serviceRelease('v1', { 'hooks/pre-release/10-turn': hook }));
});

afterAll(async () => {
  await world.stop();
});

beforeEach(async () => {
  cases += 1;
  root = join(world.work, `case-${cases}`);
  await mkdir(root);
});

function startRuns(extraArgs: string[]): Promise<CliResult>[] {
  return Array.from({ length: runs }, () => {
    const started = startCli(['myapp', 'testing', '--root', root, ...extraArgs], world.env, 120_000);
    started.child.stdin.end();
    return started.result;
  });
}

async function hookRuns(): Promise<{ event: string; pid: number; at: number }[]> {
  const text = await readFile(join(root, 'hook-runs'), 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [event = '', pid = '0', at = '0'] = line.split(' ');
      return { event, pid: Number(pid), at: Number(BigInt(at) / 1_000_000n) };
    });
}

/** The tree holds exactly one valid deploy of v1 on b1, with nothing left of the other runs. */
async function expectOneValidDeploy(successes: number): Promise<void> {
  expect(await readdir(join(root, 'srv/myapp/releases'))).toEqual(['v1']);
  expect(await readdir(join(root, 'srv/base/releases'))).toEqual(['b1']);
  expect(await readlink(join(root, 'srv/myapp/current'))).toBe('releases/v1');
  expect(await readlink(join(root, 'srv/base/current'))).toBe('releases/b1');
  expect(await readFile(join(root, 'srv/service/current/VERSION'), 'utf8')).toBe('v1\n');
  const everything = (await readdir(root, { recursive: true })) as string[];
  expect(everything.filter((name) => /(^|\/)(\.incoming-|\.stale-|\.[^/]*\.tmp-|lock)/.test(name))).toEqual([]);
  const state = JSON.parse(await readFile(join(root, 'var/lib/pulldeploy/state.json'), 'utf8'));
  expect(state.history.map((run: { outcome: string }) => run.outcome)).toEqual(Array(successes).fill('success'));
}

it('with --lock-timeout 0: exactly one deploys, the nine others exit 5 at once naming it', async () => {
  const results = startRuns(['--lock-timeout', '0']);
  // The one holding the lock waits in its hook until the nine others have finished.
  const settled: CliResult[] = [];
  for (const result of results) void result.then((done) => settled.push(done));
  while (settled.length < runs - 1) await sleep(50);
  await writeFile(join(root, 'go'), '');
  const all = await Promise.all(results);

  const codes = all.map((result) => result.exitCode).sort();
  expect(codes).toEqual([0, ...Array(runs - 1).fill(5)]);
  for (const busy of all.filter((result) => result.exitCode === 5)) {
    expect(busy.stderr).toMatch(/error: step lock failed: another pulldeploy run \(pid \d+, started .*\) holds .*lock; gave up after waiting 0\.\ds \(--lock-timeout\): try again when it has finished/);
  }
  expect((await hookRuns()).filter((run) => run.event === 'start')).toHaveLength(1);
  await expectOneValidDeploy(1);
}, 120_000);

it('waiting for the lock: all ten deploy, one after another, never two at once', async () => {
  await writeFile(join(root, 'go'), '');
  const all = await Promise.all(startRuns([]));

  expect(all.map((result) => result.exitCode)).toEqual(Array(runs).fill(0));
  const events = (await hookRuns()).sort((a, b) => a.at - b.at);
  expect(events).toHaveLength(2 * runs);
  // Ordered by time, every start is followed by the end of the same run before the next start.
  for (let i = 0; i < events.length; i += 2) {
    expect(events[i]?.event).toBe('start');
    expect(events[i + 1]).toMatchObject({ event: 'end', pid: events[i]?.pid });
  }
  // The first downloaded the releases; the nine after it found them verified and reused them.
  expect(all.filter((result) => result.stderr.includes('myapp v1 downloaded'))).toHaveLength(1);
  expect(all.filter((result) => result.stderr.includes('myapp v1 reused'))).toHaveLength(runs - 1);
  await expectOneValidDeploy(runs);
  expect(existsSync(join(root, 'var/lib/pulldeploy/lock'))).toBe(false);
}, 120_000);
