// Step 2: who this instance is (DESIGN.md §1), from the command line, the hostname, metadata or the AWS APIs.
import type { Config } from '../config/schema.js';
import type { Grains } from '../identity/grains.js';
import { resolveGrains } from '../identity/resolve.js';
import type { Ports } from './context.js';

export async function identifyInstance(
  config: Config,
  ports: Ports,
  names: { service?: string | undefined; instance?: string | undefined } = {},
): Promise<{ grains: Grains; source: string }> {
  return resolveGrains({
    ...(names.service !== undefined && names.instance !== undefined ? { service: names.service, instance: names.instance } : {}),
    hostname: ports.hostname,
    domain: config.domain,
    metadata: ports.metadata,
    lookup: ports.groupLookup,
    logger: ports.logger,
  });
}
