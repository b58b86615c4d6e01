// Fleet operations through the CLI against moto behind a recording proxy: check, drain, health waits, lifecycle, rollback, prune, status.
import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld, type DeployWorldOptions } from '../helpers/deploy-world.js';
import { queryApiResult } from '../helpers/recording-proxy.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

let world: DeployWorld;

async function setUp(options: DeployWorldOptions = {}) {
  world = await createDeployWorld(options);
  await world.release('base', 'b1', baseRelease('b1'));
  await world.release('myapp', 'v1', serviceRelease('v1'));
}

afterEach(async () => {
  await world.stop();
});

const root = () => ['--root', world.root];
const deployCli = (extra: string[] = [], env: Record<string, string> = {}) =>
  runCli(['myapp', 'testing', ...root(), ...extra], { ...world.env, ...env });
const checkCli = (extra: string[] = [], env: Record<string, string> = {}) =>
  runCli(['check', '--jitter', '0', ...root(), ...extra], { ...world.env, ...env });
const current = () => readlink(join(world.root, 'srv/myapp/current'));
const readState = async () => JSON.parse(await readFile(join(world.root, 'var/lib/pulldeploy/state.json'), 'utf8'));
const s3Requests = () => world.proxy.requests.filter((request) => request.service === 's3');
const elbActions = () => world.proxy.requests.filter((request) => request.service === 'elasticloadbalancing').map((r) => r.action);

describe('pulldeploy check', () => {
  it('with nothing moved: two conditional GETs answered 304, exit 0, nothing written under the root', async () => {
    await setUp();
    expect((await deployCli()).exitCode).toBe(0);
    world.proxy.clear();
    const before = await snapshotTree(world.root);

    const result = await checkCli(['-v']);

    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('up to date (myapp v1, base b1)');
    const reads = s3Requests().map((r) => [r.method, r.key, r.status, Boolean(r.requestHeaders['if-none-match'])]);
    // The two are read in parallel, so they arrive in either order.
    expect(reads.sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual([
      ['GET', 'deploy/base/testing/current', 304, true],
      ['GET', 'deploy/myapp/testing/current', 304, true],
    ]);
    expect(world.proxy.requests.filter((r) => r.service !== 's3')).toEqual([]);
    expect(await snapshotTree(world.root)).toEqual(before);
  });

  it('after a promote: deploys the new version', async () => {
    await setUp();
    expect((await deployCli()).exitCode).toBe(0);
    await world.release('myapp', 'v2', serviceRelease('v2'));
    const result = await checkCli();
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('deploying: myapp v1 → v2');
    expect(await current()).toBe('releases/v2');
    expect((await readState()).last_run.command).toBe('check');
  });

  it('after a failed run: retries, and succeeds once the cause is gone', async () => {
    await setUp();
    await world.release('myapp', 'v1', serviceRelease('v1', { 'hooks/pre-release/10-needs-flag': '#!/bin/sh\ntest -e "$PULLDEPLOY_ROOT/../flag"\n' }));
    expect((await deployCli()).exitCode).toBe(1);
    await (await import('node:fs/promises')).writeFile(join(world.work, 'flag'), '');
    const result = await checkCli();
    expect(result.stderr).toContain('the last run failed at pre-release; retrying');
    expect(result.exitCode).toBe(0);
    expect(await current()).toBe('releases/v1');
  });

  it('while another run holds the lock: exit 5 at once', async () => {
    await setUp();
    expect((await deployCli()).exitCode).toBe(0);
    await world.release('myapp', 'v2', serviceRelease('v2', { 'hooks/pre-release/10-slow': '#!/bin/sh\ntouch "$PULLDEPLOY_ROOT/../in-hook"\nsleep 3\n' }));
    const slow = deployCli();
    for (let i = 0; i < 100 && !(await exists(join(world.work, 'in-hook'))); i++) await new Promise((r) => setTimeout(r, 50));
    const result = await checkCli();
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toMatch(/another pulldeploy run \(pid \d+/);
    expect(result.durationMs).toBeLessThan(2_500);
    expect((await slow).exitCode).toBe(0);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    await setUp();
    expect((await deployCli()).exitCode).toBe(0);
    await world.release('myapp', 'v2', serviceRelease('v2'));
    const before = await snapshotTree(world.root);
    const result = await checkCli(['--dry-run']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('would deploy: myapp v1 → v2');
    expect(result.stdout).toContain('myapp v2: download and verify; current v1 → v2');
    expect(result.stdout).toContain('base b1: already present, reused');
    expect(await snapshotTree(world.root)).toEqual(before);
  });
});

describe('traffic', () => {
  const registered = { PULLDEPLOY_LB_REGISTER: 'true' };

  it('--drain: deregister → wait → switch → register → wait healthy', async () => {
    await setUp();
    await world.createLoadBalancer();
    expect((await deployCli([], registered)).exitCode).toBe(0);
    expect(await world.registeredInstances()).toEqual([world.instanceId]);
    await world.release('myapp', 'v2', serviceRelease('v2'));
    world.proxy.clear();

    const result = await deployCli(['--drain', '-v'], { ...registered, PULLDEPLOY_LB_WAIT_TIMEOUT: '20' });

    expect(result.stderr).not.toContain('error');
    expect(result.exitCode).toBe(0);
    const actions = elbActions();
    const deregister = actions.indexOf('DeregisterInstancesFromLoadBalancer');
    const register = actions.indexOf('RegisterInstancesWithLoadBalancer');
    expect(deregister).toBeGreaterThanOrEqual(0);
    expect(register).toBeGreaterThan(deregister);
    // Waits: polls after deregistering and after registering.
    expect(actions.slice(deregister + 1, register).length).toBeGreaterThan(0);
    expect(actions.slice(register + 1).length).toBeGreaterThan(0);
    const steps = (await readState()).last_run.steps.map((step: { name: string }) => step.name);
    expect(steps.indexOf('drain')).toBeLessThan(steps.indexOf('stage'));
    expect(steps.indexOf('switch')).toBeLessThan(steps.indexOf('register'));
    expect(await world.registeredInstances()).toEqual([world.instanceId]);
  });

  it('--drain with a failing deploy: stays deregistered and says so', async () => {
    await setUp();
    await world.createLoadBalancer();
    expect((await deployCli([], registered)).exitCode).toBe(0);
    await world.release('myapp', 'v2', serviceRelease('v2', { 'hooks/pre-release/10-fail': '#!/bin/sh\nexit 4\n' }));
    const result = await deployCli(['--drain'], registered);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('stays deregistered');
    expect(await world.registeredInstances()).toEqual([]);
    expect(await current()).toBe('releases/v1');
  });

  it('a health wait that runs out: exit 1, recorded, naming the load balancer and its state', async () => {
    await setUp({
      answer: (request) =>
        request.action === 'DescribeInstanceHealth'
          ? queryApiResult(
              'DescribeInstanceHealth',
              `<InstanceStates><member><InstanceId>${request.params['Instances.member.1.InstanceId'] ?? ''}</InstanceId><State>OutOfService</State><ReasonCode>Instance</ReasonCode><Description>Instance has failed at least the UnhealthyThreshold number of health checks consecutively.</Description></member></InstanceStates>`,
            )
          : undefined,
    });
    await world.createLoadBalancer();
    const result = await deployCli([], { ...registered, PULLDEPLOY_LB_WAIT_IN_SERVICE: 'true', PULLDEPLOY_LB_WAIT_TIMEOUT: '2' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('step register failed');
    expect(result.stderr).toContain(world.elbName);
    expect(result.stderr).toContain('OutOfService');
    expect(result.durationMs).toBeLessThan(30_000);
    expect((await readState()).last_run.failed_step).toBe('register');
  });

  it('register and deregister by hand', async () => {
    await setUp();
    await world.createLoadBalancer();
    expect((await deployCli()).exitCode).toBe(0);
    expect((await runCli(['register', ...root()], world.env)).exitCode).toBe(0);
    expect(await world.registeredInstances()).toEqual([world.instanceId]);
    expect((await runCli(['deregister', ...root(), '--no-wait'], world.env)).exitCode).toBe(0);
    expect(await world.registeredInstances()).toEqual([]);
    expect((await readState()).history.map((run: { command: string }) => run.command).slice(0, 2)).toEqual(['deregister', 'register']);
  });
});

describe('launch lifecycle hook', () => {
  const lifecycleAnswers: DeployWorldOptions['answer'] = (request) =>
    request.action === 'CompleteLifecycleAction' || request.action === 'RecordLifecycleActionHeartbeat'
      ? queryApiResult(request.action)
      : undefined;
  const hookEnv = { PULLDEPLOY_ASG_LIFECYCLE_HOOK: 'launch-wait', PULLDEPLOY_ASG_HEARTBEAT_INTERVAL: '1' };
  const lifecycleCalls = () =>
    world.proxy.requests
      .filter((r) => r.action === 'CompleteLifecycleAction')
      .map((r) => [r.params.AutoScalingGroupName, r.params.LifecycleHookName, r.params.InstanceId, r.params.LifecycleActionResult]);

  it('the first deploy completes with CONTINUE', async () => {
    await setUp({ answer: lifecycleAnswers });
    const result = await deployCli([], hookEnv);
    expect(result.exitCode).toBe(0);
    expect(lifecycleCalls()).toEqual([['myapp-testing-useast1', 'launch-wait', world.instanceId, 'CONTINUE']]);
  });

  it('a failed first deploy completes with ABANDON, with heartbeats while it ran', async () => {
    await setUp({ answer: lifecycleAnswers });
    await world.release('myapp', 'v1', serviceRelease('v1', { 'hooks/pre-release/10-slow-fail': '#!/bin/sh\nsleep 2.5\nexit 1\n' }));
    const result = await deployCli([], hookEnv);
    expect(result.exitCode).toBe(1);
    expect(lifecycleCalls()).toEqual([['myapp-testing-useast1', 'launch-wait', world.instanceId, 'ABANDON']]);
    expect(world.proxy.requests.filter((r) => r.action === 'RecordLifecycleActionHeartbeat').length).toBeGreaterThanOrEqual(1);
  });
});

describe('rollback, prune, status', () => {
  it('rollback goes back to the previous release; a second rollback has none before it', async () => {
    await setUp();
    expect((await deployCli()).exitCode).toBe(0);
    await world.release('myapp', 'v2', serviceRelease('v2'));
    expect((await deployCli()).exitCode).toBe(0);

    const back = await runCli(['rollback', ...root()], world.env);
    expect(back.exitCode).toBe(0);
    expect(await current()).toBe('releases/v1');
    expect((await readState()).last_run).toMatchObject({ command: 'rollback', versions: { service: { current: 'v1', previous: 'v2' } } });

    const none = await runCli(['rollback', ...root(), '--to', 'v0'], world.env);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('release v0 is not in');
  });

  it('rollback on a first release: nothing to roll back to (exit 2)', async () => {
    await setUp();
    expect((await deployCli()).exitCode).toBe(0);
    const result = await runCli(['rollback', ...root()], world.env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('nothing to roll back to');
  });

  it('prune --keep 0 never removes current, next or previous', async () => {
    await setUp();
    for (const version of ['v1', 'v2', 'v3', 'v4']) {
      await world.release('myapp', version, serviceRelease(version));
      expect((await deployCli([], { PULLDEPLOY_KEEP_RELEASES: '10' })).exitCode).toBe(0);
    }
    expect((await readdir(join(world.root, 'srv/myapp/releases'))).sort()).toEqual(['v1', 'v2', 'v3', 'v4']);
    const result = await runCli(['prune', ...root(), '--keep', '0', '-v'], world.env);
    expect(result.exitCode).toBe(0);
    expect((await readdir(join(world.root, 'srv/myapp/releases'))).sort()).toEqual(['v3', 'v4']);
    expect(await current()).toBe('releases/v4');
  });

  it('status, in both forms', async () => {
    await setUp();
    expect((await deployCli()).exitCode).toBe(0);
    await world.release('myapp', 'v2', serviceRelease('v2'));
    expect((await deployCli()).exitCode).toBe(0);

    const human = await runCli(['status', ...root()], world.env);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toContain(`myapp-testing-useast1 node ${world.instanceId.slice(2)}`);
    expect(human.stdout).toMatch(/myapp\s+current v2\s+next v2\s+previous v1/);
    expect(human.stdout).toMatch(/last run\s+deploy success/);
    expect(human.stdout).toContain('lock         free');
    expect(human.stdout).toContain('this fleet runs unsigned releases');
    expect(human.stdout.trim().split('\n').length).toBeLessThanOrEqual(24);

    const json = JSON.parse((await runCli(['status', '--json', ...root()], world.env)).stdout);
    expect(json.service).toEqual({ name: 'myapp', current: 'v2', next: 'v2', previous: 'v1' });
    expect(json.last_run.steps.map((step: { name: string }) => step.name)).toContain('fetch');
    expect(json.lock).toEqual({ state: 'free' });
  });
});

async function exists(path: string): Promise<boolean> {
  return (await import('node:fs/promises')).access(path).then(
    () => true,
    () => false,
  );
}
