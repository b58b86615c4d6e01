// Two deploys at once on one root: exactly one deploys at a time; the other waits, or exits 5 when told not to wait.
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';

let world: DeployWorld;

beforeEach(async () => {
  world = await createDeployWorld();
  await world.release('base', 'b1', baseRelease('b1'));
  // A slow pre-release hook keeps the first run inside the lock while the second starts.
  await world.release(
    'myapp',
    'v1',
    serviceRelease('v1', { 'hooks/pre-release/10-slow': '#!/bin/sh\necho $$ >> "$PULLDEPLOY_ROOT/hook-runs"\nsleep 3\n' }),
  );
});

afterEach(async () => {
  await world.stop();
});

const args = () => ['myapp', 'testing', '--root', world.root];

/** Returns the first run still going (wrapped, since awaiting a returned promise would wait for the run itself). */
async function startedFirst(): Promise<{ first: ReturnType<typeof runCli> }> {
  const first = runCli(args(), world.env);
  // Wait until the first run is inside its hook, so it certainly holds the lock.
  for (let i = 0; i < 100; i++) {
    if (await readFile(join(world.root, 'hook-runs'), 'utf8').catch(() => '')) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { first };
}

it('a second run with --lock-timeout 0 exits 5 at once, naming the holder', async () => {
  const { first } = await startedFirst();
  const second = await runCli([...args(), '--lock-timeout', '0'], world.env);
  expect(second.exitCode).toBe(5);
  expect(second.stderr).toMatch(/another pulldeploy run \(pid \d+/);
  expect(second.durationMs).toBeLessThan(2_500);
  const firstResult = await first;
  expect(firstResult.exitCode).toBe(0);
  expect((await readFile(join(world.root, 'hook-runs'), 'utf8')).trim().split('\n')).toHaveLength(1);
  expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');
});

it('a second run that may wait deploys after the first, never alongside it', async () => {
  const { first } = await startedFirst();
  const second = await runCli(args(), world.env);
  const firstResult = await first;
  expect(firstResult.exitCode).toBe(0);
  expect(second.exitCode).toBe(0);
  expect((await readFile(join(world.root, 'hook-runs'), 'utf8')).trim().split('\n')).toHaveLength(2);
  const state = JSON.parse(await readFile(join(world.root, 'var/lib/pulldeploy/state.json'), 'utf8'));
  expect(state.history.map((run: { outcome: string }) => run.outcome)).toEqual(['success', 'success']);
  // The waiting run's lock step lasted until the first released it.
  expect(state.last_run.steps[0].duration_ms).toBeGreaterThan(500);
});
