// The real side effects of a deploy: instance metadata, AWS APIs, S3, the host name, the clock.
import { hostname } from 'node:os';
import type { DeployPorts } from '../deploy.js';
import { createAsgLookup } from '../identity/asg-lookup.js';
import { createMetadataClient } from '../identity/metadata.js';
import { createS3Store } from '../artifacts/s3-store.js';
import { createClassicElb } from '../lb/classic-elb.js';
import type { Logger } from '../log/logger.js';

export function createRealPorts(env: NodeJS.ProcessEnv, logger: Logger): DeployPorts {
  return {
    metadata: createMetadataClient({}),
    groupLookup: (region) => createAsgLookup({ region }),
    store: (bucket, region) => createS3Store({ bucket, region, logger }),
    loadBalancer: (name, region) => createClassicElb(name, region),
    // PULLDEPLOY_HOSTNAME stands in for the kernel's host name where it cannot be set (containers, tests).
    hostname: env.PULLDEPLOY_HOSTNAME || hostname(),
    env,
    now: () => new Date(),
    logger,
  };
}
