// `check`: two conditional reads and no write when nothing moved; a deploy when a pointer moved or the last run failed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { check } from '../../src/check.js';
import type { Config } from '../../src/config/schema.js';
import { deploy } from '../../src/deploy.js';
import { BusyError } from '../../src/errors.js';
import { createFakeWorld, type FakeWorld } from '../helpers/fake-world.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

let world: FakeWorld;

beforeEach(async () => {
  world = await createFakeWorld();
  world.release('base', 'b1', { 'states/top.sls': '' });
  world.release('myapp', 'v1', { VERSION: 'v1' });
});

afterEach(async () => {
  await world.stop();
});

const runCheck = (config: Config = world.config(), options: { jitterSeconds?: number; dryRun?: boolean } = {}) =>
  check({ root: world.root, config, jitterSeconds: options.jitterSeconds ?? 0, dryRun: options.dryRun ?? false }, world.ports());
const firstDeploy = () =>
  deploy({ root: world.root, config: world.config(), command: 'deploy', waitForLock: true, drain: false }, world.ports());

describe('check', () => {
  it('deploys when nothing was ever deployed here', async () => {
    const outcome = await runCheck();
    expect(outcome.action).toBe('deployed');
    // Base and service are read and fetched in parallel: in either order, each exactly once.
    expect([...world.calls].sort()).toEqual([
      'pointer deploy/base/testing/current',
      'pointer deploy/myapp/testing/current',
      'release deploy/base/releases/b1.tar.gz',
      'release deploy/myapp/releases/v1.tar.gz',
    ]);
  });

  it('when nothing moved: two conditional reads, exit 0, nothing written under the root', async () => {
    await firstDeploy();
    world.calls = [];
    const before = await snapshotTree(world.root);
    const outcome = await runCheck();
    expect(outcome).toEqual({ action: 'up-to-date', summary: 'up to date (myapp v1, base b1)' });
    expect([...world.calls].sort()).toEqual([
      expect.stringMatching(/^pointer deploy\/base\/testing\/current if-none-match "/),
      expect.stringMatching(/^pointer deploy\/myapp\/testing\/current if-none-match "/),
    ]);
    expect(await snapshotTree(world.root)).toEqual(before);
  });

  it('deploys what moved, without reading the pointers twice or downloading what is present', async () => {
    await firstDeploy();
    world.release('myapp', 'v2', { VERSION: 'v2' });
    world.calls = [];
    const outcome = await runCheck();
    expect(outcome.action).toBe('deployed');
    expect([...world.calls].sort()).toEqual([
      expect.stringMatching(/^pointer deploy\/base\/testing\/current if-none-match/),
      expect.stringMatching(/^pointer deploy\/myapp\/testing\/current if-none-match/),
      'release deploy/myapp/releases/v2.tar.gz',
    ]);
    expect(world.logger.lines).toContainEqual(expect.objectContaining({ message: 'deploying: myapp v1 → v2' }));
    world.calls = [];
    expect((await runCheck()).action).toBe('up-to-date');
  });

  it('retries after a failed run even when nothing moved', async () => {
    world.release('myapp', 'v1', { 'hooks/pre-release/10-flaky': '#!/bin/sh\ntest -e "$PULLDEPLOY_ROOT/fixed"\n' });
    await expect(firstDeploy()).rejects.toThrow('step pre-release failed');
    await writeFile(join(world.root, 'fixed'), '');
    const outcome = await runCheck();
    expect(outcome.action).toBe('deployed');
    expect(world.logger.lines).toContainEqual(
      expect.objectContaining({ message: 'deploying: the last run failed at pre-release; retrying' }),
    );
  });

  it('exits busy at once while another run holds the lock, writing nothing', async () => {
    await firstDeploy();
    const lockFile = join(world.root, 'var/lib/pulldeploy/lock');
    await mkdir(join(world.root, 'var/lib/pulldeploy'), { recursive: true });
    await writeFile(lockFile, JSON.stringify({ pid: process.pid, hostname: 'h', acquired_at: new Date().toISOString(), command: 'deploy' }));
    const before = await snapshotTree(world.root);
    world.calls = [];
    const error = await runCheck().catch((e) => e);
    expect(error).toBeInstanceOf(BusyError);
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(world.calls).toEqual([]);
    expect(await snapshotTree(world.root)).toEqual(before);
  });

  it('sleeps a random jitter first', async () => {
    await firstDeploy();
    world.events = [];
    await runCheck(world.config(), { jitterSeconds: 30 });
    expect(world.events[0]).toBe('sleep 15000');
  });

  it('--dry-run says what it would deploy and changes nothing', async () => {
    await firstDeploy();
    world.release('myapp', 'v2', { VERSION: 'v2' });
    const before = await snapshotTree(world.root);
    const outcome = await runCheck(world.config(), { dryRun: true });
    expect(outcome.action).toBe('planned');
    if (outcome.action !== 'planned') return;
    expect(outcome.reason).toBe('myapp v1 → v2');
    expect(outcome.plan.service).toMatchObject({ version: 'v2', present: false, current: 'v1' });
    expect(outcome.plan.base).toMatchObject({ version: 'b1', present: true, current: 'b1' });
    expect(await snapshotTree(world.root)).toEqual(before);
  });
});
