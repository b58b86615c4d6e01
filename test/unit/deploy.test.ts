// The pipeline's failure rules, with fakes for every side effect beyond the temp root.
import { mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import { deploy } from '../../src/deploy.js';
import { ArtifactError, AwsError, BusyError, StepError, UsageError } from '../../src/errors.js';
import { createProgressGroup } from '../../src/log/progress.js';
import { createFakeWorld, type FakeWorld } from '../helpers/fake-world.js';

let world: FakeWorld;

beforeEach(async () => {
  world = await createFakeWorld();
  world.release('base', 'b1', { 'states/top.sls': 'base: {}\n' });
});

afterEach(async () => {
  await world.stop();
});

const request = (config: Config, drain = false) => ({ root: world.root, config, command: 'deploy' as const, waitForLock: true, drain });
const run = (config: Config = world.config(), drain = false) => deploy(request(config, drain), world.ports());
const readState = async () => JSON.parse(await readFile(join(world.root, 'var/lib/pulldeploy/state.json'), 'utf8'));
const current = () => readlink(join(world.root, 'srv/myapp/current'));

describe('deploy pipeline', () => {
  it('runs the steps in order and registers the instance with the ELB named after the cluster', async () => {
    world.release('myapp', 'v1', { 'salt/config/states/top.sls': '' });
    const record = await run();
    expect(record.outcome).toBe('success');
    expect(record.steps.map((step) => step.name)).toEqual([
      'lock', 'identify', 'resolve', 'fetch', 'stage', 'pre-release', 'apply', 'switch', 'post-release', 'register', 'record', 'prune',
    ]);
    expect(world.registered).toEqual(['myapp-testing-useast1:i-0abc898900']);
    expect(await current()).toBe('releases/v1');
    expect((await readState()).pointers.myapp).toMatchObject({ version: 'v1', etag: expect.any(String) });
  });

  it('uses lb.elb_name when set, and registers nothing when lb.register is off', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    await run(world.config({ lb: { ...defaultConfig().lb, elb_name: 'shared-elb' } }));
    expect(world.registered).toEqual(['shared-elb:i-0abc898900']);
    world.registered = [];
    const record = await run(world.config({ lb: { ...defaultConfig().lb, register: false } }));
    expect(world.registered).toEqual([]);
    expect(record.steps.find((step) => step.name === 'register')?.detail).toBe('disabled by lb.register');
  });

  it('waits for InService when lb.wait_in_service is set', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    await run(world.config({ lb: { ...defaultConfig().lb, wait_in_service: true } }));
    expect(world.events).toEqual(['register myapp-testing-useast1', 'wait in service myapp-testing-useast1']);
  });

  it('a failing post-release hook keeps the switch, is recorded, and does not register (exit 1)', async () => {
    world.release('myapp', 'v1', { 'hooks/post-release/10-smoke': '#!/bin/sh\necho smoke failed >&2\nexit 7\n' });
    const error = await run().catch((e) => e);
    expect(error).toBeInstanceOf(StepError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('step post-release failed');
    expect(await current()).toBe('releases/v1');
    expect(world.registered).toEqual([]);
    const state = await readState();
    expect(state.last_run.failed_step).toBe('post-release');
    expect(state.last_run.versions.service.current).toBe('v1');
    expect(state.pointers).toEqual({});
  });

  it('an AWS failure while registering is a failed register step (exit 1), recorded', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    world.registerFailure = new AwsError('LoadBalancerNotFound: There is no ACTIVE Load Balancer named myapp-testing-useast1');
    const error = await run().catch((e) => e);
    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toContain('step register failed: LoadBalancerNotFound');
    expect((await readState()).last_run.failed_step).toBe('register');
  });

  it('a missing service release fails fetch with nothing left behind, even while base downloads', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    world.objects.delete('deploy/myapp/releases/v1.tar.gz');
    const error = await run().catch((e) => e);
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toContain('step fetch failed');
    for (const dir of ['srv/myapp/releases', 'srv/base/releases']) {
      const names = await readdir(join(world.root, dir)).catch(() => []);
      expect(names.filter((name) => name.startsWith('.incoming'))).toEqual([]);
    }
    expect(await current().catch((e) => e.code)).toBe('ENOENT');
  });

  it('a missing base pointer names the base pointer', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    world.objects.delete('deploy/base/testing/current');
    const error = await run().catch((e) => e);
    expect(error.message).toContain('pointer s3://fake/deploy/base/testing/current not found');
  });

  it('without a bucket, says how to set one (exit 2) and touches nothing', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    const error = await run(world.config({ bucket: '' })).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('PULLDEPLOY_BUCKET or --bucket');
    expect(await readdir(world.root).catch((e) => e.code)).toBe('ENOENT');
  });

  it('exits busy when another live process holds the lock and lock_timeout is 0', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    const lockFile = join(world.root, 'var/lib/pulldeploy/lock');
    await mkdir(dirname(lockFile), { recursive: true });
    const start = (await readFile(`/proc/${process.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[19];
    await writeFile(
      lockFile,
      JSON.stringify({ pid: process.pid, start_time: start, hostname: 'h', acquired_at: new Date().toISOString(), command: 'deploy' }),
    );
    const error = await run(world.config({ lock_timeout: 0 })).catch((e) => e);
    expect(error).toBeInstanceOf(BusyError);
    expect(error.exitCode).toBe(5);
    expect(error.message).toContain(String(process.pid));
  });

  it('leaves a state file it cannot read exactly as it was', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    const stateFile = join(world.root, 'var/lib/pulldeploy/state.json');
    await mkdir(dirname(stateFile), { recursive: true });
    await writeFile(stateFile, '{ not json');
    const error = await run().catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain(stateFile);
    expect(await readFile(stateFile, 'utf8')).toBe('{ not json');
    expect(await readdir(join(world.root, 'srv')).catch(() => [])).toEqual([]);
  });
});

describe('draining', () => {
  it('deregisters and waits before staging, then registers and waits healthy', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    await run();
    world.events = [];
    world.release('myapp', 'v2', { VERSION: 'v2' });
    const record = await run(world.config(), true);
    expect(world.events).toEqual([
      'deregister myapp-testing-useast1',
      'wait deregistered myapp-testing-useast1',
      'register myapp-testing-useast1',
      'wait in service myapp-testing-useast1',
    ]);
    const names = record.steps.map((step) => step.name);
    expect(names.indexOf('drain')).toBeLessThan(names.indexOf('stage'));
    expect(names.indexOf('switch')).toBeLessThan(names.indexOf('register'));
  });

  it('a drained deploy that fails stays deregistered and says so', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    await run();
    world.release('myapp', 'v2', { 'hooks/pre-release/10-fail': '#!/bin/sh\nexit 1\n' });
    const error = await run(world.config({ lb: { ...defaultConfig().lb, drain_on_redeploy: true } })).catch((e) => e);
    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toContain('stays deregistered');
    expect(error.message).toContain('pulldeploy register');
    expect(world.registered).toEqual([]);
    expect(await current()).toBe('releases/v1');
    expect((await readState()).last_run.error).toContain('stays deregistered');
  });

  it('an instance not registered has nothing to drain', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    const record = await run(world.config(), true);
    expect(record.steps.find((step) => step.name === 'drain')?.detail).toBe('not registered: nothing to drain');
    expect(world.events).toEqual(['register myapp-testing-useast1']);
  });
});

describe('launch lifecycle hook', () => {
  const withHook = () => world.config({ asg: { lifecycle_hook: 'launch-wait', heartbeat_interval: 30 } });

  it('the first deploy sends heartbeats and completes with CONTINUE', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    await run(withHook());
    expect(world.events).toEqual([
      'heartbeats every 30000 ms',
      'register myapp-testing-useast1',
      'lifecycle myapp-testing-useast1/launch-wait/i-0abc898900 CONTINUE',
      'heartbeats stopped',
    ]);
  });

  it('a failed first deploy completes with ABANDON', async () => {
    world.release('myapp', 'v1', { 'hooks/pre-release/10-fail': '#!/bin/sh\nexit 1\n' });
    await expect(run(withHook())).rejects.toBeInstanceOf(StepError);
    expect(world.events).toEqual([
      'heartbeats every 30000 ms',
      'lifecycle myapp-testing-useast1/launch-wait/i-0abc898900 ABANDON',
      'heartbeats stopped',
    ]);
  });

  it('later deploys of the same instance leave the lifecycle alone', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    await run(withHook());
    world.events = [];
    await run(withHook());
    expect(world.events).toEqual(['register myapp-testing-useast1']);
  });
});

describe('download progress', () => {
  it('draws one bar for both downloads on a terminal and clears it', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1'.repeat(1000) });
    const drawn: string[] = [];
    const ports = {
      ...world.ports(),
      progress: (label: string) => createProgressGroup(label, { isTTY: true, write: (text: string) => drawn.push(text) }, { json: false, intervalMs: 0 }),
    };
    await deploy(request(world.config()), ports);
    const total = world.objects.get('deploy/base/releases/b1.tar.gz')!.length + world.objects.get('deploy/myapp/releases/v1.tar.gz')!.length;
    expect(drawn.some((line) => line.startsWith('\rdownloading [') && line.includes('100%'))).toBe(true);
    expect(drawn.filter((line) => line.includes('100%')).at(-1)).toContain(`${(total / 1024 / 1024).toFixed(1)} MiB`);
    expect(drawn.at(-1)).toBe('\r\x1b[2K');
  });

  it('draws nothing when stderr is not a terminal', async () => {
    world.release('myapp', 'v1', { VERSION: 'v1' });
    const drawn: string[] = [];
    const ports = {
      ...world.ports(),
      progress: (label: string) => createProgressGroup(label, { isTTY: false, write: (text: string) => drawn.push(text) }, { json: false }),
    };
    await deploy(request(world.config()), ports);
    expect(drawn).toEqual([]);
  });
});
