// The real side effects of a run: instance metadata, AWS APIs, S3, the host name, the clock.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAgentS3Store } from '../artifacts/agent-s3-store.js';
import { createLifecycleAction } from '../asg/lifecycle.js';
import { createAsgLookup } from '../identity/asg-lookup.js';
import { createMetadataClient } from '../identity/metadata.js';
import { loadBalancersFor } from '../lb/load-balancers.js';
import { createProgressGroup } from '../log/progress.js';
import type { CommandContext } from './context.js';
import type { CliIo } from './io.js';
import type { Ports } from '../steps/context.js';

export function createRealPorts(io: CliIo, context: Pick<CommandContext, 'logger' | 'json'>): Ports {
  const { env } = io;
  const { logger } = context;
  const metadata = createMetadataClient({});
  return {
    metadata,
    groupLookup: (region) => createAsgLookup({ region }),
    // The SDK reads process.env, not io.env: so must the signed S3 reads that stand in for it.
    store: (bucket, region) => createAgentS3Store({ bucket, region, logger, env: process.env, metadata }),
    loadBalancers: (config, grains) => loadBalancersFor(config, grains),
    lifecycleAction: (args) => createLifecycleAction({ ...args, logger }),
    // PULLDEPLOY_HOSTNAME stands in for the kernel's host name where it cannot be set (containers, tests).
    hostname: env.PULLDEPLOY_HOSTNAME || hostname(),
    env,
    now: () => new Date(),
    sleep: (ms) => sleep(ms),
    random: Math.random,
    progress: (label) => createProgressGroup(label, io.stderr, { json: context.json }),
    logger,
  };
}
