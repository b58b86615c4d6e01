// A world for end-to-end deploys: a bucket on moto, a metadata endpoint, a temp root, and ways to publish into them.
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateLoadBalancerCommand, DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing';
import { releaseTarGz } from './archives.js';
import { motoElbClient, motoS3Client, runMotoInstance } from './moto-clients.js';
import { startRecordingProxy, type RecordingProxy, type RecordingProxyOptions } from './recording-proxy.js';
import { afterAll, beforeAll, inject } from 'vitest';
import { runCli } from './cli.js';
import { startMetadataServer } from '../../scripts/servers/metadata-server.mjs';

export interface DeployWorld {
  work: string;
  root: string;
  /** A sibling of the root that no deploy may ever touch. */
  outside: string;
  bucket: string;
  instanceId: string;
  /** A classic ELB name unique to this world (moto is shared by every test file), set as lb.elb_name. */
  elbName: string;
  metadataUrl: string;
  /** The environment the CLI runs with. */
  env: Record<string, string>;
  publish(service: string, version: string, files: ReleaseFiles): Promise<{ sha256: string; size: number }>;
  publishBytes(service: string, version: string, tarball: Buffer): Promise<{ sha256: string; size: number }>;
  promote(service: string, instance: string, pointer: unknown): Promise<void>;
  /** publish + promote to `testing`. */
  release(service: string, version: string, files: ReleaseFiles): Promise<void>;
  writeConfig(text: string): Promise<void>;
  createLoadBalancer(name?: string): Promise<void>;
  registeredInstances(name?: string): Promise<string[]>;
  /** Every AWS request the CLI made, in order. */
  proxy: RecordingProxy;
  stop(): Promise<void>;
}

/** Path → content; a content starting with `#!` is made executable. */
export type ReleaseFiles = Record<string, string>;

export interface DeployWorldOptions {
  asgName?: string;
  /** Answers some AWS calls itself (what moto lacks, or a fault), passed to the recording proxy. */
  answer?: RecordingProxyOptions['answer'];
  /** Breaks some response bodies on their way (resets, short ends, stalls), passed to the recording proxy. */
  disrupt?: RecordingProxyOptions['disrupt'];
}

export async function createDeployWorld(options: DeployWorldOptions = {}): Promise<DeployWorld> {
  const motoUrl = inject('motoUrl');
  // The agent talks to moto through a recording proxy, so tests can assert every AWS call it makes, in order.
  const proxy = await startRecordingProxy({
    target: motoUrl,
    ...(options.answer ? { answer: options.answer } : {}),
    ...(options.disrupt ? { disrupt: options.disrupt } : {}),
  });
  const work = await mkdtemp(join(tmpdir(), 'pulldeploy-e2e-'));
  const root = join(work, 'root');
  const outside = join(work, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(join(outside, 'sentinel'), 'untouched');
  const bucket = `e2e-${randomBytes(6).toString('hex')}`;
  const instanceId = await runMotoInstance();
  const elbName = `elb-${randomBytes(6).toString('hex')}`;
  const s3 = motoS3Client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const elb = motoElbClient();
  const metadata = await startMetadataServer({
    instanceId,
    region: 'us-east-1',
    asgName: options.asgName ?? 'myapp-testing-useast1',
  });

  const publishBytes = async (service: string, version: string, tarball: Buffer) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `deploy/${service}/releases/${version}.tar.gz`, Body: tarball }));
    return { sha256: createHash('sha256').update(tarball).digest('hex'), size: tarball.length };
  };
  const promote = async (service: string, instance: string, pointer: unknown) => {
    const body = typeof pointer === 'string' ? pointer : JSON.stringify(pointer);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `deploy/${service}/${instance}/current`, Body: body }));
  };
  const publish = async (service: string, version: string, files: ReleaseFiles) =>
    publishBytes(service, version, releaseTarGz(files));

  return {
    work,
    root,
    outside,
    bucket,
    instanceId,
    elbName,
    metadataUrl: metadata.url,
    proxy,
    env: {
      HOME: work,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: proxy.url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url,
      PULLDEPLOY_BUCKET: bucket,
      PULLDEPLOY_APPLY_COMMAND: 'none',
      PULLDEPLOY_LB_REGISTER: 'false',
      PULLDEPLOY_LB_ELB_NAME: elbName,
    },
    publish,
    publishBytes,
    promote,
    async release(service, version, files) {
      const { sha256 } = await publish(service, version, files);
      await promote(service, 'testing', { version, sha256 });
    },
    async writeConfig(text) {
      const file = join(root, 'etc', 'pulldeploy', 'config.yaml');
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text, { mode: 0o644 });
    },
    async createLoadBalancer(name = elbName) {
      await elb.send(
        new CreateLoadBalancerCommand({
          LoadBalancerName: name,
          Listeners: [{ Protocol: 'HTTP', LoadBalancerPort: 80, InstancePort: 80 }],
          AvailabilityZones: ['us-east-1a'],
        }),
      );
    },
    async registeredInstances(name = elbName) {
      const result = await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }));
      return (result.LoadBalancerDescriptions?.[0]?.Instances ?? []).map((i) => i.InstanceId ?? '');
    },
    async stop() {
      await metadata.stop();
      await proxy.stop();
      s3.destroy();
      elb.destroy();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** Every path under dir with its kind (and link target), sorted: equal listings mean an unchanged tree. */
export async function listTree(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (current: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(current)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(current, name);
      const info = await lstat(path);
      const shown = relative(dir, path);
      if (info.isSymbolicLink()) lines.push(`${shown} -> ${await readlink(path)}`);
      else if (info.isDirectory()) {
        lines.push(`${shown}/`);
        await walk(path);
      } else lines.push(`${shown} (${info.size} bytes)`);
    }
  };
  await walk(dir);
  return lines;
}

/** The smallest service release that deploys: states, plus whatever else is given. */
export function serviceRelease(marker: string, extra: ReleaseFiles = {}): ReleaseFiles {
  return { 'salt/config/states/top.sls': `# ${marker}\n`, 'VERSION': `${marker}\n`, ...extra };
}

export function baseRelease(marker: string): ReleaseFiles {
  return { 'states/top.sls': `# ${marker}\n`, 'pillar/top.sls': 'base: {}\n', 'grains/README': 'grains\n' };
}

/** One world for the whole test file, with a load balancer and `myapp v1` on `base b1` already deployed. */
export function useDeployedWorld(): { world: DeployWorld } {
  const holder = {} as { world: DeployWorld };
  beforeAll(async () => {
    holder.world = await createDeployWorld();
    await holder.world.createLoadBalancer();
    await holder.world.release('base', 'b1', baseRelease('b1'));
    await holder.world.release('myapp', 'v1', serviceRelease('v1'));
    const first = await runCli(['myapp', 'testing', '--root', holder.world.root], holder.world.env);
    if (first.exitCode !== 0) throw new Error(`the first deploy failed (exit ${first.exitCode}):\n${first.stderr}`);
  });
  afterAll(async () => {
    await holder.world.stop();
  });
  return holder;
}
