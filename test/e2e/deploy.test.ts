// The deploy command end to end: the CLI as a child process against moto S3/ELB, a metadata endpoint and a temp root.
import { existsSync } from 'node:fs';
import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { isProcessAlive } from '../helpers/processes.js';
import { baseRelease, createDeployWorld, listTree, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';

let world: DeployWorld;

beforeEach(async () => {
  world = await createDeployWorld();
  await world.release('base', 'b1', baseRelease('b1'));
});

afterEach(async () => {
  await world.stop();
});

const deployArgs = () => ['myapp', 'testing', '-v', '--root', world.root];

async function readState() {
  return JSON.parse(await readFile(join(world.root, 'var/lib/pulldeploy/state.json'), 'utf8'));
}

const link = (path: string) => readlink(join(world.root, path));

/** A hook that records its phase and environment under the root, so the test can see what it was given. */
const recordingHook = (name: string) =>
  `#!/bin/sh\nenv | grep '^PULLDEPLOY_\\|^AWS_' | sort > "$PULLDEPLOY_ROOT/${name}.env"\npwd > "$PULLDEPLOY_ROOT/${name}.cwd"\n`;

describe('pulldeploy deploy', () => {
  it('deploys base and service on first boot: links, hooks, apply, state', async () => {
    await world.release(
      'myapp',
      'v1',
      serviceRelease('v1', {
        'hooks/pre-release/10-record': recordingHook('pre'),
        'hooks/post-release/10-record': recordingHook('post'),
      }),
    );
    const apply = join(world.work, 'apply.sh');
    await (await import('node:fs/promises')).writeFile(
      apply,
      '#!/bin/sh\nreadlink "$PULLDEPLOY_ROOT/srv/myapp/next" > "$PULLDEPLOY_ROOT/apply.next"\n',
      { mode: 0o755 },
    );
    const result = await runCli(deployArgs(), { ...world.env, PULLDEPLOY_APPLY_COMMAND: apply });

    expect(result.stderr).toContain('deployed myapp v1 with base b1');
    expect(result.exitCode).toBe(0);
    expect(await link('srv/myapp/current')).toBe('releases/v1');
    expect(await link('srv/myapp/next')).toBe('releases/v1');
    expect(await link('srv/base/current')).toBe('releases/b1');
    expect(await link('srv/service')).toBe('myapp');
    expect(await readFile(join(world.root, 'srv/service/current/VERSION'), 'utf8')).toBe('v1\n');
    expect(await readFile(join(world.root, 'srv/base/current/states/top.sls'), 'utf8')).toBe('# b1\n');

    const preEnv = await readFile(join(world.root, 'pre.env'), 'utf8');
    expect(preEnv).toContain('PULLDEPLOY_SERVICE_NAME=myapp');
    expect(preEnv).toContain('PULLDEPLOY_SERVICE_INSTANCE=testing');
    expect(preEnv).toContain(`PULLDEPLOY_INSTANCE_ID=${world.instanceId}`);
    expect(preEnv).toContain('PULLDEPLOY_AWS_REGION=us-east-1');
    expect(preEnv).toContain('PULLDEPLOY_VERSION=v1');
    expect(preEnv).toContain('PULLDEPLOY_PHASE=pre-release');
    expect(preEnv).not.toMatch(/AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/);
    expect((await readFile(join(world.root, 'pre.cwd'), 'utf8')).trim()).toBe(join(world.root, 'srv/myapp/releases/v1'));
    expect(await readFile(join(world.root, 'post.env'), 'utf8')).toContain('PULLDEPLOY_PHASE=post-release');
    expect((await readFile(join(world.root, 'apply.next'), 'utf8')).trim()).toBe('releases/v1');
    expect(result.stderr).toMatch(/\[pre-release\/10-record\]|hook pre-release\/10-record/);

    const grains = await readFile(join(world.root, 'etc/salt/grains'), 'utf8');
    expect(grains).toContain('cluster_name: myapp-testing-useast1');
    const minion = await readFile(join(world.root, 'etc/salt/minion.d/pulldeploy.conf'), 'utf8');
    expect(minion).toContain(join(world.root, 'srv/service/next/salt/config/states'));

    const state = await readState();
    expect(state.last_run.outcome).toBe('success');
    expect(state.last_run.versions.service.current).toBe('v1');
    expect(state.last_run.steps.map((s: { name: string }) => s.name)).toEqual([
      'lock',
      'identify',
      'resolve',
      'fetch',
      'stage',
      'pre-release',
      'apply',
      'switch',
      'post-release',
      'register',
      'record',
      'prune',
    ]);
    for (const step of state.last_run.steps) expect(step.duration_ms).toBeGreaterThanOrEqual(0);
    expect(await readdir(join(world.root, 'srv/myapp/releases'))).toEqual(['v1']);
    expect(await listTree(world.outside)).toEqual(['sentinel (9 bytes)']);
  });

  it('moves current on a new version, keeps the previous release, and reuses a release already present', async () => {
    await world.release('myapp', 'v1', serviceRelease('v1'));
    expect((await runCli(deployArgs(), world.env)).exitCode).toBe(0);
    await world.release('myapp', 'v2', serviceRelease('v2'));

    const second = await runCli(deployArgs(), world.env);
    expect(second.exitCode).toBe(0);
    expect(await link('srv/myapp/current')).toBe('releases/v2');
    expect(await link('srv/myapp/next')).toBe('releases/v2');
    expect((await readdir(join(world.root, 'srv/myapp/releases'))).sort()).toEqual(['v1', 'v2']);
    const state = await readState();
    expect(state.last_run.versions.service).toEqual({ current: 'v2', previous: 'v1' });
    expect(state.history).toHaveLength(2);

    const marker = join(world.root, 'srv/myapp/releases/v2/.pulldeploy-release.json');
    const before = await stat(marker);
    const third = await runCli(deployArgs(), world.env);
    expect(third.exitCode).toBe(0);
    expect(third.stderr).toMatch(/myapp v2 reused/);
    expect((await stat(marker)).mtimeMs).toBe(before.mtimeMs);
    expect((await readState()).last_run.versions.service).toEqual({ current: 'v2', previous: 'v1' });
  });

  it('registers with the classic ELB named after the cluster by default', async () => {
    // A service name of its own, so the cluster-named ELB is unique on the shared moto server.
    const service = `svc${world.bucket.slice(4)}`;
    await world.createLoadBalancer(`${service}-testing-useast1`);
    await world.release(service, 'v1', serviceRelease('v1'));
    const result = await runCli([service, 'testing', '--root', world.root], {
      ...world.env,
      PULLDEPLOY_LB_REGISTER: 'true',
      PULLDEPLOY_LB_ELB_NAME: '',
    });
    expect(result.exitCode).toBe(0);
    expect(await world.registeredInstances(`${service}-testing-useast1`)).toEqual([world.instanceId]);
  });

  it('fails the register step with exit 1 when the load balancer does not exist, after switching', async () => {
    await world.release('myapp', 'v1', serviceRelease('v1'));
    const result = await runCli(deployArgs(), { ...world.env, PULLDEPLOY_LB_REGISTER: 'true' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('step register failed');
    expect(result.stderr).toContain(`classic ELB ${world.elbName}`);
    expect(await link('srv/myapp/current')).toBe('releases/v1');
    const state = await readState();
    expect(state.last_run.failed_step).toBe('register');
    expect(state.last_run.exit_code).toBe(1);
  });
});

describe('pulldeploy deploy failures before the switch', () => {
  beforeEach(async () => {
    await world.createLoadBalancer();
    await world.release('myapp', 'v1', serviceRelease('v1'));
    expect((await runCli(deployArgs(), world.env)).exitCode).toBe(0);
  });

  async function expectUntouched(result: { exitCode: number | null }, failedStep: string) {
    expect(await link('srv/myapp/current')).toBe('releases/v1');
    expect(await link('srv/myapp/next')).toBe('releases/v1');
    expect(await link('srv/base/current')).toBe('releases/b1');
    expect(await world.registeredInstances()).toEqual([]);
    expect(await listTree(world.outside)).toEqual(['sentinel (9 bytes)']);
    const releases = await readdir(join(world.root, 'srv/myapp/releases'));
    expect(releases.filter((name) => name.startsWith('.incoming'))).toEqual([]);
    const state = await readState();
    expect(state.last_run.outcome).toBe('failed');
    expect(state.last_run.failed_step).toBe(failedStep);
    expect(state.last_run.exit_code).toBe(result.exitCode);
  }

  it('a failing pre-release hook: exit 1 naming the hook, links restored, not registered', async () => {
    await world.release('myapp', 'v2', serviceRelease('v2', { 'hooks/pre-release/20-fail': '#!/bin/sh\necho broken config >&2\nexit 3\n' }));
    const result = await runCli(deployArgs(), { ...world.env, PULLDEPLOY_LB_REGISTER: 'true' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('step pre-release failed');
    expect(result.stderr).toContain('20-fail');
    expect(result.stderr).toContain('broken config');
    await expectUntouched(result, 'pre-release');
  });

  it('a failing apply: exit 1, links restored, not registered', async () => {
    await world.release('myapp', 'v2', serviceRelease('v2'));
    const result = await runCli(deployArgs(), {
      ...world.env,
      PULLDEPLOY_LB_REGISTER: 'true',
      PULLDEPLOY_APPLY_COMMAND: 'echo state failed; exit 2',
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('step apply failed');
    expect(result.stderr).toContain('state failed');
    await expectUntouched(result, 'apply');
  });

  it('a hook that runs over its timeout is killed with its whole process group', async () => {
    const pidFile = join(world.work, 'child.pid');
    await world.release(
      'myapp',
      'v2',
      serviceRelease('v2', { 'hooks/pre-release/10-hang': `#!/bin/sh\nsleep 300 &\necho $! > ${pidFile}\nsleep 300\n` }),
    );
    const result = await runCli(deployArgs(), { ...world.env, PULLDEPLOY_HOOKS_TIMEOUT: '1', PULLDEPLOY_HOOKS_KILL_GRACE: '1' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/10-hang timed out after 1s/);
    expect(result.durationMs).toBeLessThan(20_000);
    const childPid = Number(await readFile(pidFile, 'utf8'));
    expect(isProcessAlive(childPid)).toBe(false);
    await expectUntouched(result, 'pre-release');
  });

  it('a digest mismatch: exit 4, nothing renamed into releases', async () => {
    const { sha256 } = await world.publish('myapp', 'v2', serviceRelease('v2'));
    await world.promote('myapp', 'testing', { version: 'v2', sha256: sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) });
    const result = await runCli(deployArgs(), { ...world.env, PULLDEPLOY_LB_REGISTER: 'true' });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/sha256|digest/i);
    expect(await readdir(join(world.root, 'srv/myapp/releases'))).toEqual(['v1']);
    await expectUntouched(result, 'fetch');
  });

  it('a missing pointer: exit 4 naming the S3 URL', async () => {
    const result = await runCli(['myapp', 'production', '--root', world.root], world.env);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain(`s3://${world.bucket}/deploy/myapp/production/current not found`);
    expect(result.stderr).toContain('promoted');
  });

  it('a pointer that is not valid JSON: exit 4', async () => {
    await world.promote('myapp', 'testing', '{"version": "v2", ');
    const result = await runCli(deployArgs(), world.env);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain(`s3://${world.bucket}/deploy/myapp/testing/current`);
    await expectUntouched(result, 'resolve');
  });

  it('a pointer whose version is not a safe directory name: exit 4', async () => {
    await world.promote('myapp', 'testing', { version: '../../etc', sha256: 'a'.repeat(64) });
    const result = await runCli(deployArgs(), world.env);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('../../etc');
    await expectUntouched(result, 'resolve');
  });
});

describe('pulldeploy identity failures', () => {
  it('an Auto Scaling group name that does not parse: exit 3 naming the expected form', async () => {
    await world.stop();
    world = await createDeployWorld({ asgName: 'legacyfleet' });
    const result = await runCli(['--root', world.root], { ...world.env, PULLDEPLOY_HOSTNAME: 'ip-10-0-0-1' });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('legacyfleet');
    expect(result.stderr).toMatch(/<service>-<environment>-<region>/);
    expect(existsSync(join(world.root, 'srv'))).toBe(false);
  });

  it('instance metadata unreachable: exit 3 saying what was tried', async () => {
    const result = await runCli(['--root', world.root], {
      ...world.env,
      PULLDEPLOY_HOSTNAME: 'ip-10-0-0-1',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('http://127.0.0.1:9');
    expect(result.stderr).toContain('ip-10-0-0-1');
    expect(existsSync(join(world.root, 'srv'))).toBe(false);
  });
});

describe('pulldeploy deploy usage', () => {
  it('--help describes every flag', async () => {
    const result = await runCli(['deploy', '--help'], {});
    expect(result.exitCode).toBe(0);
    for (const flag of ['--lock-timeout', '--verbose', '--json', '--root', '--config', '--bucket', '--prefix']) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const result = await runCli(['deploy', '--frobnicate'], {});
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--frobnicate');
  });

  it('an unknown configuration key is exit 2 naming the key, before anything changes', async () => {
    await world.writeConfig('bucket: x\nkeep_relases: 3\n');
    const before = await listTree(world.root);
    const result = await runCli(deployArgs(), world.env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('keep_relases: unknown key');
    expect(await listTree(world.root)).toEqual(before);
  });

  it('--json logs one JSON object per line', async () => {
    await world.release('myapp', 'v1', serviceRelease('v1'));
    const result = await runCli([...deployArgs(), '--json'], world.env);
    expect(result.exitCode).toBe(0);
    const lines = result.stderr.trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.map((line) => JSON.parse(line)).some((entry) => entry.step === 'fetch')).toBe(true);
  });
});

describe('pulldeploy --help', () => {
  it('lists every command and the exit codes', async () => {
    const result = await runCli(['--help'], {});
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('deploy');
    expect(result.stdout).toContain('grains');
    expect(result.stdout).toContain('5 busy');
  });
});
