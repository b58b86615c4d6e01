// Identity resolution (DESIGN.md §1): the cheapest source that answers gives the grains; a failure names every source tried.
import { IdentityError, UsageError, describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { groupNameTagKey, type GroupNameLookup } from './asg-lookup.js';
import type { Grains } from './grains.js';
import type { MetadataSource } from './metadata.js';
import {
  buildGrains,
  hostnameForm,
  isAwsRegion,
  isInstanceId,
  isServiceInstance,
  isServiceName,
  parseClusterName,
  parseConventionalHostname,
  toAwsRegion,
  toShortRegion,
  type ClusterName,
  type ConventionalHostname,
} from './naming.js';

export interface ResolveGrainsOptions {
  /** SERVICE and INSTANCE from the command line: both or neither. */
  service?: string;
  instance?: string;
  hostname: string;
  /** Appended to the hostname grain when not empty. */
  domain: string;
  metadata: MetadataSource;
  /** Called at most once, with the AWS region from instance metadata. */
  lookup: (awsRegion: string) => GroupNameLookup;
  logger: Logger;
}

export interface ResolvedGrains {
  grains: Grains;
  /** Which source answered, for logs and `status`. */
  source: string;
}

interface CommandLineNames {
  service_name: string;
  service_instance: string;
}

interface MetadataIdentity {
  instanceId: string;
  awsRegion: string;
}

const howToName =
  'give SERVICE INSTANCE on the command line (pulldeploy myapp testing), name the host ' +
  hostnameForm +
  ', or let the instance find its Auto Scaling group (enable instance metadata tags, or allow ' +
  'ec2:DescribeTags or autoscaling:DescribeAutoScalingInstances)';

export async function resolveGrains(options: ResolveGrainsOptions): Promise<ResolvedGrains> {
  const names = readCommandLineNames(options.service, options.instance);
  const host = parseConventionalHostname(options.hostname);
  // Each entry says which source was tried and why it did not answer.
  const tried: string[] = [];
  if (!host) tried.push(`hostname "${options.hostname}": not of the form ${hostnameForm}`);

  let resolved: ResolvedGrains;
  if (names) {
    resolved = await resolveFromCommandLine(names, host, options, tried);
  } else if (host) {
    resolved = { grains: grainsFromHostname(host, host, options.domain), source: 'hostname' };
  } else {
    resolved = await resolveFromGroupName(options, tried);
  }
  options.logger.debug(`identity from ${resolved.source}`, { source: resolved.source });
  return resolved;
}

function readCommandLineNames(service: string | undefined, instance: string | undefined): CommandLineNames | undefined {
  if (service === undefined && instance === undefined) return undefined;
  if (service === undefined || instance === undefined) {
    throw new UsageError(
      'give both SERVICE and INSTANCE (pulldeploy myapp testing), or neither to find them from the hostname or the Auto Scaling group',
    );
  }
  if (!isServiceName(service)) {
    throw new UsageError(`service "${service}" must be words of letters and digits joined by single dashes, e.g. myapp`);
  }
  if (!isServiceInstance(instance)) {
    throw new UsageError(
      `instance "${instance}" must be letters and digits, e.g. testing: ` +
        'it is the environment part of <service>-<environment>-<region>, which is split from the right',
    );
  }
  return { service_name: service, service_instance: instance };
}

/** Service and environment are given; region and node come from the hostname, else from metadata. */
async function resolveFromCommandLine(
  names: CommandLineNames,
  host: ConventionalHostname | undefined,
  options: ResolveGrainsOptions,
  tried: string[],
): Promise<ResolvedGrains> {
  if (host) return { grains: grainsFromHostname(names, host, options.domain), source: 'command line and hostname' };
  const { instanceId, awsRegion } = await readMetadataIdentity(
    options.metadata,
    tried,
    'SERVICE and INSTANCE were given, but the region and node come from a hostname of the form ' +
      `${hostnameForm} or from instance metadata`,
  );
  const grains = buildGrains(
    { ...names, region: toShortRegion(awsRegion), aws_region: awsRegion, instance_id: instanceId },
    options.domain,
  );
  return { grains, source: 'command line and instance metadata' };
}

function grainsFromHostname(names: CommandLineNames, host: ConventionalHostname, domain: string): Grains {
  return buildGrains(
    {
      service_name: names.service_name,
      service_instance: names.service_instance,
      region: host.region,
      aws_region: toAwsRegion(host.region),
      instance_id: `i-${host.service_node}`,
    },
    domain,
  );
}

/** Metadata for instance id and region, then the group name from the cheapest source that has it. */
async function resolveFromGroupName(options: ResolveGrainsOptions, tried: string[]): Promise<ResolvedGrains> {
  const { instanceId, awsRegion } = await readMetadataIdentity(options.metadata, tried, howToName);
  let lookup: GroupNameLookup | undefined;
  const aws = (): GroupNameLookup => (lookup ??= options.lookup(awsRegion));
  const sources = [
    {
      name: `instance metadata tag ${groupNameTagKey}`,
      ask: () => options.metadata.autoScalingGroupTag(),
      none: 'not found: metadata tags are not enabled (aws ec2 modify-instance-metadata-options --instance-metadata-tags enabled)',
    },
    {
      name: 'ec2:DescribeTags',
      ask: () => aws().groupNameFromTags(instanceId),
      none: `no ${groupNameTagKey} tag on ${instanceId}`,
    },
    {
      name: 'autoscaling:DescribeAutoScalingInstances',
      ask: () => aws().groupNameFromAutoScaling(instanceId),
      none: `${instanceId} is not in an Auto Scaling group`,
    },
  ];
  for (const source of sources) {
    let groupName: string | undefined;
    try {
      groupName = await source.ask();
    } catch (error) {
      tried.push(`${source.name}: ${describeSourceFailure(error)}`);
      continue;
    }
    if (groupName === undefined) {
      tried.push(`${source.name}: ${source.none}`);
      continue;
    }
    const grains = grainsFromGroupName(groupName, source.name, instanceId, awsRegion, options);
    return { grains, source: source.name };
  }
  throw identityFailure(tried, howToName);
}

function grainsFromGroupName(
  groupName: string,
  sourceName: string,
  instanceId: string,
  awsRegion: string,
  options: ResolveGrainsOptions,
): Grains {
  const cluster = parseGroupName(groupName, sourceName);
  const metadataRegion = toShortRegion(awsRegion);
  if (cluster.region !== metadataRegion) {
    // The group's name is the naming contract; AWS calls must still go to the region the instance is in.
    options.logger.warn(
      `Auto Scaling group ${groupName} names region ${cluster.region} but the instance runs in ${awsRegion}: ` +
        `using ${cluster.region} for the region grain and ${awsRegion} for AWS calls`,
      { group: groupName, aws_region: awsRegion },
    );
  }
  return buildGrains({ ...cluster, aws_region: awsRegion, instance_id: instanceId }, options.domain);
}

function parseGroupName(groupName: string, sourceName: string): ClusterName {
  try {
    return parseClusterName(groupName);
  } catch (error) {
    throw new IdentityError(
      `${sourceName} found Auto Scaling group ${describeError(error)}; ` +
        'rename the group, or give SERVICE INSTANCE on the command line',
      { cause: error },
    );
  }
}

async function readMetadataIdentity(metadata: MetadataSource, tried: string[], remedy: string): Promise<MetadataIdentity> {
  try {
    const [instanceId, awsRegion] = await Promise.all([metadata.instanceId(), metadata.region()]);
    // Checked here so that a malformed answer counts as metadata failing.
    if (!isInstanceId(instanceId)) throw new IdentityError(`instance id "${instanceId}" is not of the form i-0abc898900`);
    if (!isAwsRegion(awsRegion)) throw new IdentityError(`region "${awsRegion}" is not of the form us-east-1`);
    return { instanceId, awsRegion };
  } catch (error) {
    tried.push(`instance metadata: ${describeSourceFailure(error)}`);
    throw identityFailure(tried, remedy);
  }
}

function describeSourceFailure(error: unknown): string {
  // AWS SDK errors carry the service's error code as their name (AccessDenied, UnauthorizedOperation).
  if (error instanceof Error && error.name !== 'Error' && !(error instanceof IdentityError)) {
    return `${error.name}: ${error.message}`;
  }
  return describeError(error);
}

function identityFailure(tried: string[], remedy: string): IdentityError {
  return new IdentityError(`cannot determine this instance's identity; tried:\n  - ${tried.join('\n  - ')}\n${remedy}`);
}
