// `rollback`: back to the previous or a named release still on disk, with apply and post-release hooks only.
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy.js';
import { UsageError } from '../../src/errors.js';
import { rollback } from '../../src/rollback.js';
import { createFakeWorld, type FakeWorld } from '../helpers/fake-world.js';

let world: FakeWorld;

beforeEach(async () => {
  world = await createFakeWorld();
  world.release('base', 'b1', { 'states/top.sls': '' });
});

afterEach(async () => {
  await world.stop();
});

const hooks = (version: string) => ({
  VERSION: version,
  'hooks/pre-release/10-record': `#!/bin/sh\necho "pre $PULLDEPLOY_VERSION" >> "$PULLDEPLOY_ROOT/hooks.log"\n`,
  'hooks/post-release/10-record': `#!/bin/sh\necho "post $PULLDEPLOY_VERSION (from $PULLDEPLOY_PREVIOUS_VERSION)" >> "$PULLDEPLOY_ROOT/hooks.log"\n`,
});
const deployVersion = async (version: string) => {
  world.release('myapp', version, hooks(version));
  await deploy({ root: world.root, config: world.config(), command: 'deploy', waitForLock: true, drain: false }, world.ports());
};
const hookLog = async () => (await readFile(join(world.root, 'hooks.log'), 'utf8')).trim().split('\n');

describe('rollback', () => {
  it('goes back to the previous release: apply and post-release hooks, registered, recorded', async () => {
    await deployVersion('v1');
    await deployVersion('v2');
    world.registered = [];
    const record = await rollback({ root: world.root, config: world.config() }, world.ports());
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');
    expect(record.versions.service).toEqual({ current: 'v1', previous: 'v2' });
    expect(record.steps.map((step) => step.name)).toEqual([
      'lock', 'identify', 'select', 'stage', 'apply', 'switch', 'post-release', 'register', 'record',
    ]);
    expect((await hookLog()).slice(-1)).toEqual(['post v1 (from v2)']);
    expect(world.registered).toEqual(['myapp-testing-useast1:i-0abc898900']);
    const state = JSON.parse(await readFile(join(world.root, 'var/lib/pulldeploy/state.json'), 'utf8'));
    expect(state.history.map((run: { command: string }) => run.command)).toEqual(['rollback', 'deploy', 'deploy']);
  });

  it('goes to a named release still on disk', async () => {
    await deployVersion('v1');
    await deployVersion('v2');
    await deployVersion('v3');
    await rollback({ root: world.root, config: world.config(), to: 'v1' }, world.ports());
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');
  });

  it('says so when there is nothing to roll back to', async () => {
    await deployVersion('v1');
    const error = await rollback({ root: world.root, config: world.config() }, world.ports()).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain('nothing to roll back to');
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v1');
  });

  it('refuses a release that is not on disk, naming where it looked', async () => {
    await deployVersion('v1');
    await deployVersion('v2');
    const error = await rollback({ root: world.root, config: world.config(), to: 'v0' }, world.ports()).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain('release v0 is not in');
    expect(await readlink(join(world.root, 'srv/myapp/current'))).toBe('releases/v2');
  });

  it('refuses on an instance that never deployed', async () => {
    const error = await rollback({ root: world.root, config: world.config() }, world.ports()).catch((e) => e);
    expect(error.message).toContain('no recorded deploy');
  });
});
