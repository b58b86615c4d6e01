// Fakes for every side effect of a run beyond the temp root: an in-memory bucket with ETags, load balancers, lifecycle.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ArtifactStore } from '../../src/artifacts/store.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import { ArtifactError } from '../../src/errors.js';
import type { LoadBalancer } from '../../src/lb/load-balancer.js';
import { createMemoryLogger } from '../../src/log/logger.js';
import type { Ports } from '../../src/steps/context.js';
import { releaseTarGz, sha256 } from './archives.js';

export interface FakeWorld {
  work: string;
  root: string;
  objects: Map<string, Buffer>;
  /** Every store call, in order: `pointer <key> [if-none-match]`, `release <key>`. */
  calls: string[];
  /** `name:instance` of every current registration. */
  registered: string[];
  /** Every load balancer and lifecycle call, in order. */
  events: string[];
  registerFailure: Error | undefined;
  logger: ReturnType<typeof createMemoryLogger>;
  ports(): Ports;
  /** Publishes a release and points `testing` at it. */
  release(service: string, version: string, files: Record<string, string>): void;
  config(overrides?: Partial<Config>): Config;
  stop(): Promise<void>;
}

const etagOf = (body: Buffer) => `"${sha256(body).slice(0, 16)}"`;

export async function createFakeWorld(): Promise<FakeWorld> {
  const work = await mkdtemp(join(tmpdir(), 'pulldeploy-fake-'));
  const world: FakeWorld = {
    work,
    root: join(work, 'root'),
    objects: new Map(),
    calls: [],
    registered: [],
    events: [],
    registerFailure: undefined,
    logger: createMemoryLogger(),
    ports: () => fakePorts(world),
    release(service, version, files) {
      const tarball = releaseTarGz(files);
      world.objects.set(`deploy/${service}/releases/${version}.tar.gz`, tarball);
      world.objects.set(`deploy/${service}/testing/current`, Buffer.from(JSON.stringify({ version, sha256: sha256(tarball) })));
    },
    config: (overrides = {}) => ({ ...defaultConfig(), bucket: 'fake', apply: { command: 'none', timeout: 60 }, ...overrides }),
    stop: () => rm(work, { recursive: true, force: true }),
  };
  return world;
}

function fakeStore(world: FakeWorld): ArtifactStore {
  return {
    bucket: 'fake',
    url: (key) => `s3://fake/${key}`,
    async readPointer(key, etag) {
      world.calls.push(`pointer ${key}${etag ? ` if-none-match ${etag}` : ''}`);
      const body = world.objects.get(key);
      if (!body) throw new ArtifactError(`pointer s3://fake/${key} not found: has the release been promoted?`);
      if (etag !== undefined && etag === etagOf(body)) return { status: 'unchanged' };
      return { status: 'found', text: body.toString(), etag: etagOf(body) };
    },
    async openRelease(key) {
      world.calls.push(`release ${key}`);
      const body = world.objects.get(key);
      if (!body) throw new ArtifactError(`release s3://fake/${key} not found`);
      return { body: Readable.from([body]), size: body.length, etag: etagOf(body) };
    },
  };
}

function fakeLoadBalancer(world: FakeWorld, name: string): LoadBalancer {
  const entry = (instanceId: string) => `${name}:${instanceId}`;
  return {
    description: `fake ELB ${name}`,
    async register(instanceId) {
      if (world.registerFailure) throw world.registerFailure;
      world.events.push(`register ${name}`);
      world.registered.push(entry(instanceId));
    },
    async deregister(instanceId) {
      world.events.push(`deregister ${name}`);
      world.registered = world.registered.filter((item) => item !== entry(instanceId));
    },
    isRegistered: async (instanceId) => world.registered.includes(entry(instanceId)),
    async waitInService() {
      world.events.push(`wait in service ${name}`);
    },
    async waitDeregistered() {
      world.events.push(`wait deregistered ${name}`);
    },
  };
}

function fakePorts(world: FakeWorld): Ports {
  return {
    metadata: {
      instanceId: async () => 'i-0abc898900',
      region: async () => 'us-east-1',
      autoScalingGroupTag: async () => 'myapp-testing-useast1',
    },
    groupLookup: () => {
      throw new Error('not needed: the metadata tag answers');
    },
    store: () => fakeStore(world),
    loadBalancers: (config, grains) => (config.lb.classic_elb ? [fakeLoadBalancer(world, config.lb.elb_name || grains.cluster_name)] : []),
    lifecycleAction: (args) => ({
      async complete(result) {
        world.events.push(`lifecycle ${args.groupName}/${args.hookName}/${args.instanceId} ${result}`);
      },
      async heartbeat() {
        world.events.push('heartbeat');
      },
      startHeartbeats: (intervalMs) => {
        world.events.push(`heartbeats every ${intervalMs} ms`);
        return { stop: () => world.events.push('heartbeats stopped') };
      },
    }),
    hostname: 'ip-10-0-0-1',
    env: { PATH: process.env.PATH },
    now: () => new Date(),
    sleep: async (ms) => {
      world.events.push(`sleep ${ms}`);
    },
    random: () => 0.5,
    progress: () => ({ part: () => ({ advance: () => undefined }), finish: () => undefined }),
    logger: world.logger,
  };
}
