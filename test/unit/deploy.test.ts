// The pipeline's failure rules, with fakes for every side effect beyond the temp root.
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { releaseTarGz, sha256 } from '../helpers/archives.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/store.js';
import { deploy, type DeployPorts } from '../../src/deploy.js';
import { ArtifactError, AwsError, BusyError, StepError, UsageError } from '../../src/errors.js';
import { createMemoryLogger } from '../../src/log/logger.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';

let work: string;
let root: string;
let objects: Map<string, Buffer>;
let registered: string[];
let registerFailure: Error | undefined;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'pulldeploy-pipeline-'));
  root = join(work, 'root');
  objects = new Map();
  registered = [];
  registerFailure = undefined;
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const fakeStore: ArtifactStore = {
  bucket: 'fake',
  url: (key) => `s3://fake/${key}`,
  async readPointer(key) {
    const body = objects.get(key);
    if (!body) throw new ArtifactError(`pointer s3://fake/${key} not found: has the release been promoted?`);
    return { status: 'found', text: body.toString(), etag: '"1"' };
  },
  async openRelease(key) {
    const body = objects.get(key);
    if (!body) throw new ArtifactError(`release s3://fake/${key} not found`);
    return { body: Readable.from([body]), size: body.length, etag: '"2"' };
  },
};

function ports(): DeployPorts & { logger: ReturnType<typeof createMemoryLogger> } {
  return {
    metadata: {
      instanceId: async () => 'i-0abc898900',
      region: async () => 'us-east-1',
      autoScalingGroupTag: async () => 'myapp-testing-useast1',
    },
    groupLookup: () => {
      throw new Error('not needed: the metadata tag answers');
    },
    store: () => fakeStore,
    loadBalancer: (name) => ({
      description: `fake ELB ${name}`,
      async register(instanceId) {
        if (registerFailure) throw registerFailure;
        registered.push(`${name}:${instanceId}`);
      },
    }),
    hostname: 'ip-10-0-0-1',
    env: { PATH: process.env.PATH },
    now: () => new Date(),
    logger: createMemoryLogger(),
  };
}

function release(service: string, version: string, files: Record<string, string>) {
  const tarball = releaseTarGz(files);
  objects.set(`deploy/${service}/releases/${version}.tar.gz`, tarball);
  objects.set(`deploy/${service}/testing/current`, Buffer.from(JSON.stringify({ version, sha256: sha256(tarball) })));
}

function config(overrides: Partial<Config> = {}): Config {
  return { ...defaultConfig(), bucket: 'fake', apply: { command: 'none', timeout: 60 }, ...overrides };
}

const readState = async () => JSON.parse(await readFile(join(root, 'var/lib/pulldeploy/state.json'), 'utf8'));

describe('deploy pipeline', () => {
  beforeEach(async () => {
    release('base', 'b1', { 'states/top.sls': 'base: {}\n' });
  });

  it('runs the steps in order and registers the instance with the ELB named after the cluster', async () => {
    release('myapp', 'v1', { 'salt/config/states/top.sls': '' });
    const run = await deploy({ root, config: config() }, ports());
    expect(run.outcome).toBe('success');
    expect(run.steps.map((step) => step.name)).toEqual([
      'lock', 'identify', 'resolve', 'fetch', 'stage', 'pre-release', 'apply', 'switch', 'post-release', 'register', 'record', 'prune',
    ]);
    expect(registered).toEqual(['myapp-testing-useast1:i-0abc898900']);
    expect(await readlink(join(root, 'srv/myapp/current'))).toBe('releases/v1');
  });

  it('uses lb.elb_name when set, and registers nothing when lb.register is off', async () => {
    release('myapp', 'v1', { VERSION: 'v1' });
    await deploy({ root, config: config({ lb: { ...defaultConfig().lb, elb_name: 'shared-elb' } }) }, ports());
    expect(registered).toEqual(['shared-elb:i-0abc898900']);
    registered = [];
    const run = await deploy({ root, config: config({ lb: { ...defaultConfig().lb, register: false } }) }, ports());
    expect(registered).toEqual([]);
    expect(run.steps.find((step) => step.name === 'register')?.detail).toBe('disabled by lb.register');
  });

  it('a failing post-release hook keeps the switch, is recorded, and does not register (exit 1)', async () => {
    release('myapp', 'v1', { 'hooks/post-release/10-smoke': '#!/bin/sh\necho smoke failed >&2\nexit 7\n' });
    const error = await deploy({ root, config: config() }, ports()).catch((e) => e);
    expect(error).toBeInstanceOf(StepError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('step post-release failed');
    expect(await readlink(join(root, 'srv/myapp/current'))).toBe('releases/v1');
    expect(registered).toEqual([]);
    const state = await readState();
    expect(state.last_run.failed_step).toBe('post-release');
    expect(state.last_run.versions.service.current).toBe('v1');
  });

  it('an AWS failure while registering is a failed register step (exit 1), recorded', async () => {
    release('myapp', 'v1', { VERSION: 'v1' });
    registerFailure = new AwsError('LoadBalancerNotFound: There is no ACTIVE Load Balancer named myapp-testing-useast1');
    const error = await deploy({ root, config: config() }, ports()).catch((e) => e);
    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toContain('step register failed: LoadBalancerNotFound');
    expect((await readState()).last_run.failed_step).toBe('register');
  });

  it('a missing service release fails fetch with nothing left behind, even while base downloads', async () => {
    release('myapp', 'v1', { VERSION: 'v1' });
    objects.delete('deploy/myapp/releases/v1.tar.gz');
    const error = await deploy({ root, config: config() }, ports()).catch((e) => e);
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.message).toContain('step fetch failed');
    for (const dir of ['srv/myapp/releases', 'srv/base/releases']) {
      const names = await readdir(join(root, dir)).catch(() => []);
      expect(names.filter((name) => name.startsWith('.incoming'))).toEqual([]);
    }
    expect(await readlink(join(root, 'srv/myapp/current')).catch((e) => e.code)).toBe('ENOENT');
  });

  it('without a bucket, says how to set one (exit 2) and touches nothing', async () => {
    release('myapp', 'v1', { VERSION: 'v1' });
    const error = await deploy({ root, config: config({ bucket: '' }) }, ports()).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('PULLDEPLOY_BUCKET or --bucket');
    expect(await readdir(root).catch((e) => e.code)).toBe('ENOENT');
  });

  it('exits busy when another live process holds the lock and lock_timeout is 0', async () => {
    release('myapp', 'v1', { VERSION: 'v1' });
    const lockFile = join(root, 'var/lib/pulldeploy/lock');
    await mkdir(dirname(lockFile), { recursive: true });
    const start = (await readFile(`/proc/${process.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[19];
    await writeFile(lockFile, JSON.stringify({ pid: process.pid, start_time: start, hostname: 'h', acquired_at: new Date().toISOString(), command: 'deploy' }));
    const error = await deploy({ root, config: config({ lock_timeout: 0 }) }, ports()).catch((e) => e);
    expect(error).toBeInstanceOf(BusyError);
    expect(error.exitCode).toBe(5);
    expect(error.message).toContain(String(process.pid));
  });

  it('leaves a state file it cannot read exactly as it was', async () => {
    release('myapp', 'v1', { VERSION: 'v1' });
    const stateFile = join(root, 'var/lib/pulldeploy/state.json');
    await mkdir(dirname(stateFile), { recursive: true });
    await writeFile(stateFile, '{ not json');
    const error = await deploy({ root, config: config() }, ports()).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain(stateFile);
    expect(await readFile(stateFile, 'utf8')).toBe('{ not json');
    expect(await readdir(join(root, 'srv')).catch(() => [])).toEqual([]);
  });
});
